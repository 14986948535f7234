"""The shop's back office: orders with both notification paths, the outbox, stock.

Read-only apart from logging in and out. Every page needs a logged-in ``AdminUser``
(Flask-Login); the demo admin is seeded from ``ADMIN_EMAIL``/``ADMIN_PASSWORD``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from shop.extensions import db
from shop.models import AdminUser, Order, OrderEvent, OutboxEmail, Product
from shop.views.forms import LoginForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

ORDERS_PER_PAGE = 100

# Checked when the e-mail is unknown, so that a wrong e-mail takes as long as a wrong
# password and the login form does not reveal which admins exist.
_DUMMY_HASH = generate_password_hash("not a real password")


def _safe_next(target: str | None) -> str:
    """Only same-site paths, never ``//host`` or ``https://host`` (open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("admin.orders")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("admin.orders"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        user = db.session.scalar(
            sa.select(AdminUser).where(sa.func.lower(AdminUser.email) == email)
        )
        if user is None:
            check_password_hash(_DUMMY_HASH, form.password.data or "")
        elif user.check_password(form.password.data or ""):
            login_user(user)
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
    logout_user()
    flash("Signed out.", "success")
    return redirect(url_for("catalog.index"), 303)


@bp.get("/")
@login_required
def orders() -> str:
    state = request.args.get("state") or None
    query = (
        sa.select(Order, sa.func.count(OrderEvent.id))
        .outerjoin(OrderEvent, OrderEvent.order_id == Order.id)
        .group_by(Order.id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(ORDERS_PER_PAGE)
    )
    if state in ("pending", "paid", "on_hold", "failed"):
        query = query.where(Order.state == state)
    else:
        state = None
    rows = db.session.execute(query).all()
    counts = dict(
        db.session.execute(sa.select(Order.state, sa.func.count()).group_by(Order.state)).all()
    )
    return render_template("admin/orders.html", rows=rows, state=state, counts=counts)


@bp.get("/orders/<number>")
@login_required
def order(number: str) -> str:
    item = db.session.scalar(
        sa.select(Order)
        .where(Order.number == number[:32])
        .options(selectinload(Order.lines), selectinload(Order.events))
    )
    if item is None:
        abort(404)
    emails = db.session.scalars(
        sa.select(OutboxEmail).where(OutboxEmail.order_id == item.id).order_by(OutboxEmail.id)
    ).all()
    first_by_path: dict[str, int] = {}
    for event in item.events:
        first_by_path.setdefault(event.path, event.id)
    return render_template(
        "admin/order.html", order=item, emails=emails, first_by_path=first_by_path
    )


@bp.get("/outbox")
@login_required
def outbox() -> str:
    rows = db.session.execute(
        sa.select(OutboxEmail, Order.number)
        .join(Order, Order.id == OutboxEmail.order_id)
        .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
        .limit(ORDERS_PER_PAGE)
    ).all()
    return render_template("admin/outbox.html", rows=rows)


@bp.get("/products")
@login_required
def products() -> str:
    items = db.session.scalars(sa.select(Product).order_by(Product.id)).all()
    return render_template("admin/products.html", products=items)
