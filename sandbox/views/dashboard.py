"""The sandbox dashboard at /CheckOut2/Sandbox/: purchases, deliveries, merchant settings.

Login with SANDBOX_ADMIN_USERNAME/PASSWORD through a form, throttled in the database
(:mod:`sandbox.logins`). The session holds the admin's session version and a fingerprint
of the password: logging out (on any device) or changing SANDBOX_ADMIN_PASSWORD ends
every session, including cookies copied before. Every form carries a CSRF token
(Flask-WTF).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, NumberRange, Optional

from sandbox import delivery, logins, merchants, purchases
from sandbox.db import db
from sandbox.errors import NotFoundError, StateError, ValidationError
from sandbox.models import Delivery, Merchant, Purchase
from sandbox.views.admin_api import admin_credentials_ok

bp = Blueprint("dashboard", __name__, url_prefix="/CheckOut2/Sandbox")
SESSION_KEY = "sandbox_admin"


#: Plain values: WTForms 3.3 deprecates (value, label) tuples, which its stubs still expect.
AUTH_SCHEMES: list[Any] = ["None", "Basic", "Bearer"]


class LoginForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    username = StringField("Username", validators=[InputRequired()])
    password = PasswordField("Password", validators=[InputRequired()])


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A button that only needs its CSRF token."""


class MerchantForm(FlaskForm):  # type: ignore[misc]
    callback_enabled = BooleanField("Server-side callback enabled")
    auth_scheme = SelectField(
        "Authorization header",
        choices=AUTH_SCHEMES,
    )
    auth_username = StringField("Basic user name", validators=[Optional()])
    auth_secret = PasswordField(
        "Basic password / Bearer token",
        validators=[Optional()],
        description="Leave empty to keep the current secret.",
    )
    callback_allowed_origins = StringField(
        "Allowed origins",
        description="Comma-separated origins (scheme://host:port) that may receive callbacks, "
        "frame the checkout and get the browser back; empty: the origin of SHOP_PUBLIC_URL.",
    )
    retry_schedule_ms = StringField(
        "Retry schedule (ms)", description="Delay before attempt 1, 2, …, comma-separated."
    )
    retry_every_ms = IntegerField("Then retry every (ms)", validators=[NumberRange(min=0)])
    max_attempts = IntegerField("Max attempts", validators=[NumberRange(min=1)])
    first_attempt_delay_ms = IntegerField(
        "Fault: delay before the first attempt (ms)", validators=[NumberRange(min=0)]
    )
    callback_copies = IntegerField(
        "Fault: send each callback N times", validators=[NumberRange(min=1)]
    )
    fail_first_attempts = IntegerField(
        "Fault: first N attempts fail", validators=[NumberRange(min=0)]
    )
    done_delay_seconds = IntegerField(
        "Fault: delay the browser's done (s)", validators=[NumberRange(min=0)]
    )
    never_call_done = BooleanField("Fault: never call done (the browser dies)")
    realistic_latency = BooleanField(
        "Realistic latency",
        description="Avarda's API answers in 0.15–0.45 s, and callbacks leave 0.3–0.9 s "
        "after a purchase completes.",
    )
    purchase_timeout_seconds = IntegerField("Purchase timeout (s)", validators=[NumberRange(min=1)])


def _password_fingerprint() -> str:
    """Changes when SANDBOX_ADMIN_PASSWORD does; reveals nothing of it."""
    key = current_app.config["SECRET_KEY"].encode()
    password = (current_app.config["SANDBOX_ADMIN_PASSWORD"] or "").encode()
    return hmac.new(key, b"sandbox-admin:" + password, hashlib.sha256).hexdigest()


def _admin() -> str:
    return current_app.config["SANDBOX_ADMIN_USERNAME"] or ""


def _session_valid() -> bool:
    state = session.get(SESSION_KEY)
    if not isinstance(state, dict) or state.get("user") != _admin():
        return False
    fingerprint = state.get("pw")
    if not isinstance(fingerprint, str):
        return False
    if not hmac.compare_digest(fingerprint.encode(), _password_fingerprint().encode()):
        return False
    return state.get("v") == logins.session_version(_admin())


@bp.before_request
def _require_login() -> ResponseReturnValue | None:
    if request.endpoint in {"dashboard.login"}:
        return None
    if _session_valid():
        return None
    session.pop(SESSION_KEY, None)
    return redirect(url_for("dashboard.login", next=request.full_path))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/CheckOut2/Sandbox") and "//" not in target:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        result = logins.attempt(
            form.username.data,
            request.remote_addr,
            lambda: admin_credentials_ok(form.username.data, form.password.data),
        )
        if result.retry_after is not None:
            minutes = -(-result.retry_after // 60)
            flash(f"Too many failed logins. Try again in {minutes} min.", "error")
            page = render_template("sandbox/login.html", form=form)
            return page, 429, {"Retry-After": str(result.retry_after)}
        if result.ok:
            session.clear()
            session[SESSION_KEY] = {
                "user": _admin(),
                "v": logins.session_version(_admin()),
                "pw": _password_fingerprint(),
            }
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong user name or password.", "error")
    return render_template("sandbox/login.html", form=form)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Ends every session of the admin, on every device."""
    if ActionForm().validate_on_submit():
        logins.end_sessions(_admin())
        session.clear()
    return redirect(url_for("dashboard.login"))


@bp.get("/")
def index() -> ResponseReturnValue:
    rows = db.session.scalars(
        sa.select(Purchase).order_by(Purchase.created_at.desc()).limit(100)
    ).all()
    return render_template("sandbox/purchases.html", purchases=rows)


@bp.get("/purchases/<purchase_id>")
def purchase(purchase_id: str) -> ResponseReturnValue:
    try:
        found = purchases.get_purchase(purchase_id)
    except NotFoundError:
        abort(404, "Unknown purchase.")
    return render_template(
        "sandbox/purchase.html",
        purchase=found,
        action=ActionForm(),
        shop_order_url=_shop_order_url(found),
        customer_order_url=_customer_order_url(found),
    )


def _shop_order_url(purchase: Purchase) -> str | None:
    """For the demo merchant's purchases, the demo shop's back-office page of the order
    (``SHOP_PUBLIC_URL/admin/orders/<OrderReference>``, a route of the shop's README
    contract); None for other merchants, whose shops the sandbox does not know."""
    config = current_app.config
    demo = config.get("AVARDA_SITE_CODE") or ""
    if not demo or purchase.merchant.site_code != demo or not purchase.order_reference:
        return None
    shop = str(config["SHOP_PUBLIC_URL"]).rstrip("/")
    return f"{shop}/admin/orders/{quote(purchase.order_reference, safe='')}"


def _customer_order_url(purchase: Purchase) -> str | None:
    """For the demo merchant's purchases, the demo shop's page of the order as its customer
    sees it (``SHOP_PUBLIC_URL/orders/purchase/<purchase id>``, which the demo shop
    redirects to the order's page): how the shop learned of the payment."""
    config = current_app.config
    demo = config.get("AVARDA_SITE_CODE") or ""
    if not demo or purchase.merchant.site_code != demo or not purchase.order_reference:
        return None
    return f"{str(config['SHOP_PUBLIC_URL']).rstrip('/')}/orders/purchase/{purchase.id}"


@bp.get("/deliveries")
def deliveries() -> ResponseReturnValue:
    status = request.args.get("status") or None
    query = sa.select(Delivery).order_by(Delivery.id.desc()).limit(200)
    if status:
        query = query.where(Delivery.status == status)
    rows = db.session.scalars(query).all()
    return render_template(
        "sandbox/deliveries.html", deliveries=rows, status=status, action=ActionForm()
    )


@bp.post("/deliveries/<int:delivery_id>/redeliver")
def redeliver(delivery_id: int) -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    try:
        row = delivery.redeliver(delivery_id)
        flash(f"Delivery {delivery_id} queued again.", "ok")
        target = url_for("dashboard.purchase", purchase_id=row.purchase_id)
    except NotFoundError:
        abort(404, "Unknown delivery.")
    except StateError as exc:
        flash(exc.message, "error")
        target = url_for("dashboard.deliveries")
    return redirect(request.form.get("back") or target)


@bp.get("/merchants")
def merchant_list() -> ResponseReturnValue:
    rows = db.session.scalars(sa.select(Merchant).order_by(Merchant.site_code)).all()
    return render_template("sandbox/merchants.html", merchants=rows)


def _settings_from_form(form: MerchantForm) -> dict[str, Any]:
    errors = []
    try:
        schedule = [
            int(p) for p in (form.retry_schedule_ms.data or "").replace(" ", "").split(",") if p
        ]
    except ValueError:
        errors.append("Retry schedule: whole milliseconds separated by commas.")
        schedule = []
    if errors:
        raise ValidationError(errors)
    origins = [
        o.strip() for o in (form.callback_allowed_origins.data or "").split(",") if o.strip()
    ]
    scheme = form.auth_scheme.data
    secret = form.auth_secret.data or merchants.MASK
    auth: dict[str, Any] = {"scheme": scheme}
    if scheme == "Basic":
        auth |= {"username": form.auth_username.data or "", "password": secret}
    elif scheme == "Bearer":
        auth["token"] = secret
    return {
        "callback_enabled": form.callback_enabled.data,
        "callback_authorization": auth,
        "callback_allowed_origins": origins or None,
        "retry_schedule_ms": schedule,
        "retry_every_ms": form.retry_every_ms.data,
        "max_attempts": form.max_attempts.data,
        "first_attempt_delay_ms": form.first_attempt_delay_ms.data,
        "callback_copies": form.callback_copies.data,
        "fail_first_attempts": form.fail_first_attempts.data,
        "done_delay_seconds": form.done_delay_seconds.data,
        "never_call_done": form.never_call_done.data,
        "realistic_latency": form.realistic_latency.data,
        "purchase_timeout_seconds": form.purchase_timeout_seconds.data,
    }


@bp.route("/merchants/<site_code>", methods=["GET", "POST"])
def merchant(site_code: str) -> ResponseReturnValue:
    try:
        current = merchants.get(site_code)
    except NotFoundError:
        abort(404, "Unknown merchant.")
    form = MerchantForm()
    if form.validate_on_submit():
        try:
            merchants.update(site_code, _settings_from_form(form))
        except ValidationError as exc:
            for error in exc.errors:
                flash(error, "error")
        else:
            flash("Settings saved.", "ok")
            return redirect(url_for("dashboard.merchant", site_code=site_code))
    elif request.method == "GET":
        settings = merchants.settings(current)
        auth = settings["callback_authorization"]
        form.callback_enabled.data = settings["callback_enabled"]
        form.auth_scheme.data = auth["scheme"]
        form.auth_username.data = auth.get("username", "")
        form.callback_allowed_origins.data = ", ".join(settings["callback_allowed_origins"])
        form.retry_schedule_ms.data = ", ".join(str(v) for v in settings["retry_schedule_ms"])
        for key in (
            "retry_every_ms",
            "max_attempts",
            "first_attempt_delay_ms",
            "callback_copies",
            "fail_first_attempts",
            "done_delay_seconds",
            "never_call_done",
            "realistic_latency",
            "purchase_timeout_seconds",
        ):
            getattr(form, key).data = settings[key]
    return render_template(
        "sandbox/merchant.html",
        form=form,
        merchant=current,
        presets=list(merchants.PRESETS),
    )


@bp.post("/merchants/<site_code>/presets/<name>")
def preset(site_code: str, name: str) -> ResponseReturnValue:
    """One of the demo's fault presets (or the latency switch), in one click."""
    if not ActionForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    try:
        if name == "latency-on" or name == "latency-off":
            merchants.update(site_code, {"realistic_latency": name == "latency-on"})
        else:
            merchants.apply_preset(site_code, name)
    except NotFoundError:
        abort(404, "Unknown merchant or preset.")
    flash("Settings saved.", "ok")
    return redirect(url_for("dashboard.merchant", site_code=site_code) + "#presets")
