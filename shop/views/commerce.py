"""The back office's actions on one order: deliver, return, refund, close, cancel through
Avarda, check with Avarda, resend the confirmation e-mail, retry an unconfirmed call.

Each is a POST form with a CSRF token (and, for the Commerce actions, an idempotency key:
a second submission of the same form does nothing more). The views only parse the form
and call ``shop.orders.commerce``; after an action they redirect to the order page,
which shows its outcome (``?action=<id>``). A request the shop refuses by itself re-renders
the order page with the reason (400 for a wrong input, 409 for an order that does not
allow it now) and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from shop.extensions import avarda_client, db
from shop.models import CommerceKind
from shop.orders.commerce import (
    ActionNotAllowed,
    ActionRequest,
    Refusal,
    check_with_avarda,
    parse_amount,
    resend_confirmation,
    retry_action,
    run_action,
)
from shop.views.admin import login_required, render_order_page

bp = Blueprint("commerce", __name__, url_prefix="/admin/orders")

#: Refusals caused by what was typed into the form (400); the others are about the
#: order's state (409).
INPUT_REFUSALS = {
    Refusal.BAD_AMOUNT,
    Refusal.NOTHING_CHOSEN,
    Refusal.TOO_MANY,
    Refusal.UNKNOWN_LINE,
    Refusal.REASON_REQUIRED,
    Refusal.TOO_LONG,
    Refusal.AMOUNT_TOO_LARGE,
}
FORM_KEY_MAX = 64


def _admin_id() -> int | None:
    return int(current_user.id) if current_user.is_authenticated else None


def _lease() -> timedelta:
    """Longer than any call can take, so a live call is never retried alongside."""
    return timedelta(seconds=2 * float(current_app.config["AVARDA_TIMEOUT"]) + 30)


def _shop_url() -> str:
    return str(current_app.config["SHOP_PUBLIC_URL"])


def _refused(number: str, exc: ActionNotAllowed) -> tuple[str, int]:
    status = 400 if exc.refusal in INPUT_REFUSALS else 409
    return render_order_page(number, refusal=exc), status


def _quantities() -> dict[int, int]:
    """``qty-<line id>`` fields as whole numbers (empty means 0); 400 otherwise."""
    quantities: dict[int, int] = {}
    for name, value in request.form.items():
        if not name.startswith("qty-"):
            continue
        line_id, text = name[4:], value.strip() or "0"
        if not line_id.isdigit() or not text.isdigit() or len(text) > 6:
            abort(400, f"{name[:20]} must be a whole number from 0.")
        quantities[int(line_id)] = int(text)
    return quantities


def _form_key() -> str | None:
    key = request.form.get("form_key", "").strip()
    if len(key) > FORM_KEY_MAX:
        abort(400, f"form_key is at most {FORM_KEY_MAX} characters.")
    return key or None


def _act(number: str, wanted: ActionRequest) -> Response | tuple[str, int]:
    try:
        result = run_action(
            db.session(),
            avarda_client(),
            number,
            wanted,
            admin_id=_admin_id(),
            shop_url=_shop_url(),
            lease=_lease(),
        )
    except ActionNotAllowed as exc:
        return _refused(number, exc)
    target = url_for("admin.order", number=number, action=result.action.id)
    return redirect(f"{target}#outcome", 303)


@bp.post("/<number>/deliver")
@login_required
def deliver(number: str) -> Response | tuple[str, int]:
    wanted = ActionRequest(
        kind=CommerceKind.DELIVER,
        quantities=_quantities(),
        tracking_code=request.form.get("tracking_code", ""),
        form_key=_form_key(),
    )
    return _act(number, wanted)


@bp.post("/<number>/return")
@login_required
def return_(number: str) -> Response | tuple[str, int]:
    wanted = ActionRequest(kind=CommerceKind.RETURN, quantities=_quantities(), form_key=_form_key())
    return _act(number, wanted)


@bp.post("/<number>/refund")
@login_required
def refund(number: str) -> Response | tuple[str, int]:
    try:
        amount = parse_amount(request.form.get("amount", ""))
    except ActionNotAllowed as exc:
        return _refused(number, exc)
    wanted = ActionRequest(kind=CommerceKind.REFUND, amount_minor=amount, form_key=_form_key())
    return _act(number, wanted)


@bp.post("/<number>/close")
@login_required
def close(number: str) -> Response | tuple[str, int]:
    return _act(number, ActionRequest(kind=CommerceKind.CLOSE, form_key=_form_key()))


@bp.post("/<number>/cancel")
@login_required
def cancel(number: str) -> Response | tuple[str, int]:
    wanted = ActionRequest(
        kind=CommerceKind.CANCEL, reason=request.form.get("reason", ""), form_key=_form_key()
    )
    return _act(number, wanted)


@bp.post("/<number>/actions/<int:action_id>/retry")
@login_required
def retry(number: str, action_id: int) -> Response | tuple[str, int]:
    try:
        action = retry_action(
            db.session(),
            avarda_client(),
            action_id,
            number=number,
            admin_id=_admin_id(),
            shop_url=_shop_url(),
            lease=_lease(),
        )
    except ActionNotAllowed as exc:
        return _refused(number, exc)
    target = url_for("admin.order", number=number, action=action.id)
    return redirect(f"{target}#outcome", 303)


@bp.post("/<number>/check")
@login_required
def check(number: str) -> str:
    """Check with Avarda: GetPaymentStatus now, beside what the shop believes; for a
    pending order the confirm step runs (path "admin")."""
    try:
        result = check_with_avarda(
            db.session(), avarda_client(), number, admin_id=_admin_id(), shop_url=_shop_url()
        )
    except ActionNotAllowed as exc:
        if exc.refusal is Refusal.NO_ORDER:
            abort(404, f"No order has the number {number[:40]}.")
        return _refused(number, exc)[0]
    return render_order_page(number, check=result)


@bp.post("/<number>/resend-confirmation")
@login_required
def resend(number: str) -> Response | tuple[str, int]:
    try:
        resend_confirmation(db.session(), number, admin_id=_admin_id())
    except ActionNotAllowed as exc:
        if exc.refusal is Refusal.NO_ORDER:
            abort(404, f"No order has the number {number[:40]}.")
        return _refused(number, exc)
    return redirect(url_for("admin.order", number=number, resent=1) + "#mail-heading", 303)
