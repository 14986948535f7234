"""The shop's back office, for support staff: orders (search, filters, needs attention),
one order with everything that happened to it, the outbox, stock.

Every page needs a logged-in ``AdminUser`` (Flask-Login); the demo admin is seeded from
``ADMIN_EMAIL``/``ADMIN_PASSWORD``, others come from ``flask create-admin``. The views
parse the request and render; what they read comes from ``shop.orders.backoffice``.
"""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from flask_login import login_required as _login_required
from werkzeug.wrappers import Response

from common.db import utcnow
from shop.extensions import db
from shop.models import ConfirmPath, OrderState
from shop.orders import admins, backoffice
from shop.orders.backoffice import AttentionRules, OrderFilters, list_orders, order_detail
from shop.orders.callback_log import (
    REFUSED_PER_MINUTE,
    CallbackFilters,
    ResultGroup,
    list_callbacks,
)
from shop.orders.commerce import pending_action, possible
from shop.views.forms import LoginForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.after_request
def _never_cached(response: Response) -> Response:
    """Admin pages show customers and orders: no browser or proxy may keep a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


E = TypeVar("E", bound=enum.Enum)
View = TypeVar("View", bound=Callable[..., Any])


def login_required(view: View) -> View:
    """Flask-Login's decorator, typed (Flask-Login ships no type information)."""
    return cast(View, _login_required(view))


def _safe_next(target: str | None) -> str:
    """``next`` if it is an admin page of this site, else the admin home (no open redirect).

    Browsers and Werkzeug read URLs more loosely than ``urlsplit`` (``\\`` as ``/``,
    several slashes collapsed, tabs and newlines dropped), so anything that is not
    plainly ``/admin/…`` with a query is refused rather than repaired.
    """
    default = url_for("admin.index")
    if not target or len(target) > 2000:
        return default
    if any(c == "\\" or c.isspace() or not c.isprintable() for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.fragment:
        return default
    path = unquote(parts.path)
    if not (path == "/admin" or path.startswith("/admin/")):
        return default
    if "//" in path or "\\" in path or "/." in path or not path.isprintable():
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = admins.sign_in(
            db.session(), form.email.data or "", form.password.data or "", request.remote_addr
        )
        if result.retry_after is not None:
            minutes = -(-result.retry_after // 60)
            flash(f"Too many failed sign-ins. Try again in {minutes} min.", "error")
            page = render_template("admin/login.html", form=form)
            return page, 429, {"Retry-After": str(result.retry_after)}
        if result.user is not None:
            login_user(result.user)
            flash("Signed in.", "success")
            return redirect(_safe_next(request.args.get("next")), 303)
        flash("Wrong e-mail or password.", "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("admin/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Ends every session of this admin, on every device (a copied cookie too)."""
    admins.sign_out(db.session(), current_user.id)
    logout_user()
    flash("Signed out.", "success")
    return redirect(url_for("catalog.index"), 303)


def attention_rules() -> AttentionRules:
    """The "needs attention" clock and ages, from the settings."""
    config = current_app.config
    return AttentionRules(
        now=utcnow(),
        pending_age=timedelta(seconds=float(config["RECONCILE_MIN_AGE"])),
        undelivered_age=timedelta(days=float(config["UNDELIVERED_ALERT_DAYS"])),
    )


def _choice(name: str, enum_type: type[E]) -> E | None:
    value = request.args.get(name, "")
    if not value:
        return None
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum_type)
        abort(400, f"Unknown {name} {value[:40]!r}: use one of {allowed}.")


def _filters() -> OrderFilters:
    """The list's filters from the query string; 400 with the reason for a bad value."""
    page_text = request.args.get("page", "1")
    if not page_text.isdigit() or not 1 <= int(page_text) <= 1_000_000:
        abort(400, "page must be a whole number from 1.")
    return OrderFilters(
        q=request.args.get("q", ""),
        state=_choice("state", OrderState),
        confirmed_by=_choice("confirmed_by", ConfirmPath),
        attention=request.args.get("view") == "attention",
        page=int(page_text),
    )


@bp.get("/")
@login_required
def index() -> Response:
    """``/admin/`` leads to the orders list, keeping any filters."""
    args: dict[str, Any] = request.args.to_dict()
    return redirect(url_for("admin.orders", **args))


def _orders_url(filters: OrderFilters, **changes: object) -> str:
    """The list's URL with ``filters`` changed by ``changes`` (None drops a filter);
    a new state or view starts again at page 1."""
    args: dict[str, Any] = {
        "q": filters.q.strip(),
        "state": filters.state.value if filters.state else None,
        "confirmed_by": filters.confirmed_by.value if filters.confirmed_by else None,
        "view": "attention" if filters.attention else None,
        "page": filters.page if filters.page > 1 else None,
    }
    if "state" in changes or "view" in changes:
        args["page"] = None
    args.update(changes)
    return url_for("admin.orders", **{k: v for k, v in args.items() if v})


@bp.get("/orders")
@login_required
def orders() -> str:
    filters = _filters()
    listing = list_orders(db.session(), filters, attention_rules())
    return render_template(
        "admin/orders.html",
        listing=listing,
        filters=filters,
        states=list(OrderState),
        paths=list(ConfirmPath),
        link=functools.partial(_orders_url, filters),
    )


@bp.get("/orders/<number>")
@login_required
def order(number: str) -> str:
    shown = request.args.get("action", "")
    return render_order_page(number, shown=int(shown) if shown.isdigit() else None)


def render_order_page(number: str, **extra: object) -> str:
    """The order's page; ``extra`` adds the outcome of what the admin just did
    (``shown``: an action id, ``refusal``, ``check``)."""
    session = db.session()
    detail = order_detail(session, number, attention_rules())
    if detail is None:
        abort(404, f"No order has the number {number[:40]}.")
    blocking = pending_action(session, detail.order.id)
    shown = extra.pop("shown", None)
    return render_template(
        "admin/order.html",
        detail=detail,
        order=detail.order,
        can=possible(detail.order, blocking),
        shown=next((a for a in detail.actions if a.id == shown), None),
        new_key=lambda: uuid.uuid4().hex,
        sandbox_url=_sandbox_purchase_url(detail.order.purchase_id),
        **extra,
    )


def _sandbox_purchase_url(purchase_id: str | None) -> str | None:
    """In demo mode, the sandbox dashboard's page of the purchase (the local Avarda)."""
    config = current_app.config
    if not purchase_id or config.get("SHOP_ENV", "demo") != "demo":
        return None
    return f"{config['AVARDA_BASE_URL']}/Sandbox/purchases/{purchase_id}"


@bp.get("/notifications")
@login_required
def notifications() -> str:
    """The notification log: every inbound server callback, rejected ones included."""
    page_text = request.args.get("page", "1")
    if not page_text.isdigit() or not 1 <= int(page_text) <= 1_000_000:
        abort(400, "page must be a whole number from 1.")
    outcome = request.args.get("outcome", "")
    if len(outcome) > 32:
        abort(400, "outcome is at most 32 characters.")
    filters = CallbackFilters(
        outcome=outcome,
        result=_choice("result", ResultGroup),
        purchase_id=request.args.get("purchase_id", "")[:64],
        page=int(page_text),
    )
    listing = list_callbacks(db.session(), filters)

    def link(**changes: object) -> str:
        args: dict[str, Any] = {
            "outcome": filters.outcome,
            "result": filters.result.value if filters.result else None,
            "purchase_id": filters.purchase_id,
            "page": filters.page if filters.page > 1 else None,
        }
        if "page" not in changes:
            args["page"] = None
        args.update(changes)
        return url_for("admin.notifications", **{k: v for k, v in args.items() if v})

    return render_template(
        "admin/notifications.html",
        listing=listing,
        filters=filters,
        groups=list(ResultGroup),
        link=link,
        refused_per_minute=REFUSED_PER_MINUTE,
    )


@bp.get("/outbox")
@login_required
def outbox() -> str:
    return render_template("admin/outbox.html", rows=backoffice.outbox(db.session()))


@bp.get("/products")
@login_required
def products() -> str:
    return render_template("admin/products.html", products=backoffice.products(db.session()))
