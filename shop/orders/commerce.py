"""After payment: deliver, return, refund, close and cancel through Avarda's Commerce API.

Framework-free: every function takes a SQLAlchemy ``Session``, the Avarda client where it
calls Avarda, and plain values. Each action runs in three steps, so that no transaction
is open during a call to Avarda and no outcome is ever lost:

1. **Request** (:func:`request_action`), in a write transaction with the order row
   locked: check the action against what the shop recorded (what was delivered,
   returned, refunded), refuse it while another action of the order is in flight or
   unconfirmed, and commit a ``CommerceAction`` in status ``requested`` with a fresh
   ``TranId`` and a lease. A form's idempotency key (``form_key``) is unique: a second
   submission of the same form finds that action and starts nothing.
2. **Call** (:func:`perform`) Avarda with no transaction open, sending the stored
   ``TranId``.
3. **Record** the outcome in a second write transaction, the order locked again:
   ``applied`` moves the order's amounts, line quantities, stock and state forward and
   puts the customer's e-mail into the outbox, all at once; ``refused`` keeps Avarda's
   ErrorCode and ErrorMessage and changes nothing else; no answer (a timeout, a server
   error, Avarda unreachable) is ``unknown``. Every outcome is an ``OrderEvent`` naming
   the admin and Avarda's answer.

An ``unknown`` action, or a ``requested`` one whose lease ran out (the process died
mid-call), is retried with :func:`retry_action`, which sends the **same** ``TranId``:
Avarda applies it once, however many times it arrives. CancelPayment has no
``TranId``; its retry first asks GetPaymentStatus whether the purchase is already
Cancelled. Only one action per order is in flight or unconfirmed at a time, so that
what the shop checks at request time still holds when the answer is recorded.

Money is in minor units (öre); what Avarda gets is built from the order lines exactly as
the checkout sent them (row totals incl. VAT, the VAT percent as ``TaxCode``).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from common.db import fit, max_length, utcnow

from ..avarda import (
    AvardaClient,
    AvardaCommerceRefused,
    AvardaError,
    AvardaNotSent,
    AvardaRefused,
    Item,
    PaymentStatus,
    PurchaseState,
    minor_to_decimal,
    new_tran_id,
)
from ..catalog import vat_included
from ..models import (
    ActionStatus,
    CommerceAction,
    CommerceActionLine,
    CommerceKind,
    ConfirmPath,
    EventOutcome,
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    OutboxEmail,
    Product,
)
from ..texts import render_email
from ..transactions import end_read, lock_order, write_transaction
from .confirm import ConfirmResult, confirm_purchase

log = logging.getLogger(__name__)

#: How long a request may take before another process may retry it: well above the
#: client's timeout, so a slow but live call is never sent twice at once.
DEFAULT_LEASE = timedelta(seconds=60)
REASON_MAX = max_length(CommerceAction.__table__.c.reason) or 200
TRACKING_MAX = 40


class Refusal(enum.StrEnum):
    """Why the shop itself refuses an action, before asking Avarda (words in
    ``templates/admin/_commerce.html``)."""

    NO_ORDER = "no_order"
    NOT_PAID = "not_paid"  # not (or no longer) paid: pending, failed, cancelled
    ON_HOLD = "on_hold"  # held for review: only Cancel and Check with Avarda
    CLOSED = "closed"  # the rest was released: nothing more to deliver
    BUSY = "busy"  # another action of this order is in flight or unconfirmed
    NOTHING_CHOSEN = "nothing_chosen"
    TOO_MANY = "too_many"  # more of a line than may be delivered or returned
    UNKNOWN_LINE = "unknown_line"
    BAD_AMOUNT = "bad_amount"
    AMOUNT_TOO_LARGE = "amount_too_large"
    NOTHING_DELIVERED = "nothing_delivered"  # close needs a part delivery
    NOTHING_LEFT = "nothing_left"  # close: everything was delivered
    ALREADY_DELIVERED = "already_delivered"  # cancel: use return/refund instead
    REASON_REQUIRED = "reason_required"
    TOO_LONG = "too_long"
    NOT_RETRYABLE = "not_retryable"
    NO_EMAIL = "no_email"  # resend: the order has no confirmation e-mail


class ActionNotAllowed(Exception):
    """The shop refuses the action; nothing was written and Avarda was not asked."""

    def __init__(self, refusal: Refusal, **details: Any) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.details = details


@dataclass(frozen=True)
class ActionRequest:
    """What an admin asked for. ``quantities`` maps order line ids to how many to
    deliver or return; ``amount_minor`` is the refund; ``form_key`` the form's
    idempotency key."""

    kind: CommerceKind
    quantities: Mapping[int, int] = field(default_factory=dict)
    amount_minor: int = 0
    tracking_code: str = ""
    reason: str = ""
    form_key: str | None = None


@dataclass(frozen=True)
class ActionResult:
    action: CommerceAction
    #: False when the request found an earlier action with the same form key (a
    #: second submission): nothing new was done.
    new: bool = True


def parse_amount(text: str) -> int:
    """``"10.00"``, ``"10,5"`` or ``"10"`` (the shop's currency) as minor units;
    :class:`ActionNotAllowed` (``BAD_AMOUNT``) for anything else, zero or negative."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ActionNotAllowed(Refusal.BAD_AMOUNT, text=text[:40]) from None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        raise ActionNotAllowed(Refusal.BAD_AMOUNT, text=text[:40])
    if value > Decimal("100000000"):
        raise ActionNotAllowed(Refusal.BAD_AMOUNT, text=text[:40])
    return int(value * 100)


# -- what may be done ---------------------------------------------------------------------


@dataclass(frozen=True)
class Possible:
    """Which actions the order page offers, and the one blocking them all (if any)."""

    deliver: bool
    return_: bool
    refund: bool
    close: bool
    cancel: bool
    blocking: CommerceAction | None
    #: The blocking action may be sent again now (unknown, or its lease ran out).
    retryable: bool = False


def pending_action(session: Session, order_id: int) -> CommerceAction | None:
    """The action of this order still in flight or unconfirmed, if any (a ``requested``
    one whose lease ran out blocks too: its outcome is just as unknown)."""
    return session.scalar(
        sa.select(CommerceAction)
        .where(
            CommerceAction.order_id == order_id,
            CommerceAction.status.in_([ActionStatus.REQUESTED, ActionStatus.UNKNOWN]),
        )
        .order_by(CommerceAction.id.desc())
        .limit(1)
    )


def possible(
    order: Order, blocking: CommerceAction | None, now: datetime | None = None
) -> Possible:
    paid = order.state == OrderState.PAID and order.purchase_id is not None
    free = blocking is None
    undelivered = any(line.undelivered_quantity for line in order.lines)
    untouched = not (order.delivered_minor or order.refunded_minor or order.closed_at)
    return Possible(
        deliver=free and paid and order.closed_at is None and undelivered,
        return_=free and paid and any(line.returnable_quantity for line in order.lines),
        refund=free and paid and order.refundable_minor > 0,
        close=free
        and paid
        and order.closed_at is None
        and order.delivered_minor > 0
        and undelivered,
        cancel=free
        and order.purchase_id is not None
        and order.state in (OrderState.PAID, OrderState.ON_HOLD)
        and untouched,
        blocking=blocking,
        retryable=blocking is not None
        and (
            blocking.status == ActionStatus.UNKNOWN
            or blocking.lease_until is None
            or blocking.lease_until <= (now or utcnow())
        ),
    )


# -- step 1: request ------------------------------------------------------------------------


def request_action(
    session: Session,
    order_number: str,
    wanted: ActionRequest,
    *,
    admin_id: int | None,
    now: datetime | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> ActionResult:
    """Check ``wanted`` and commit it as a ``requested`` action with a new TranId.

    Raises :class:`ActionNotAllowed` (nothing written) when the shop's own records
    forbid it. A ``form_key`` seen before returns that earlier action with
    ``new=False``.
    """
    now = now or utcnow()
    if wanted.form_key:
        earlier = _by_form_key(session, wanted.form_key)
        if earlier is not None:
            return ActionResult(earlier, new=False)
    order_id = session.scalar(sa.select(Order.id).where(Order.number == order_number[:32]))
    if order_id is None:
        raise ActionNotAllowed(Refusal.NO_ORDER)
    try:
        with write_transaction(session):
            order = lock_order(session, order_id)
            if wanted.form_key:
                earlier = _by_form_key(session, wanted.form_key)
                if earlier is not None:
                    return ActionResult(earlier, new=False)
            blocking = pending_action(session, order.id)
            if blocking is not None:
                raise ActionNotAllowed(Refusal.BUSY, action=blocking)
            action = _build(order, wanted, possible(order, None))
            action.status = ActionStatus.REQUESTED
            action.tran_id = new_tran_id()
            action.form_key = wanted.form_key or None
            action.admin_id = admin_id
            action.attempts = 1
            action.requested_at = now
            action.lease_until = now + lease
            session.add(action)
    except IntegrityError:
        # The same form submitted twice at the same moment: the other one won.
        session.rollback()
        earlier = _by_form_key(session, wanted.form_key or "")
        if earlier is None:
            raise
        return ActionResult(earlier, new=False)
    log.info("commerce: %s requested for %s (tran %s)", action.kind, order_number, action.tran_id)
    return ActionResult(action)


def _by_form_key(session: Session, form_key: str) -> CommerceAction | None:
    return session.scalar(
        sa.select(CommerceAction)
        .where(CommerceAction.form_key == form_key[:64])
        .execution_options(populate_existing=True)
    )


def _build(order: Order, wanted: ActionRequest, can: Possible) -> CommerceAction:
    """The action for ``wanted``, checked against the order (locked by the caller)."""
    kind = wanted.kind
    if order.purchase_id is None:
        raise ActionNotAllowed(Refusal.NOT_PAID, state=order.state)
    if kind is CommerceKind.CANCEL:
        if order.state not in (OrderState.PAID, OrderState.ON_HOLD):
            raise ActionNotAllowed(Refusal.NOT_PAID, state=order.state)
        if not can.cancel:
            raise ActionNotAllowed(Refusal.ALREADY_DELIVERED)
        reason = " ".join(wanted.reason.split())
        if not reason:
            raise ActionNotAllowed(Refusal.REASON_REQUIRED)
        if len(reason) > REASON_MAX:
            raise ActionNotAllowed(Refusal.TOO_LONG, field="reason", limit=REASON_MAX)
        return CommerceAction(order_id=order.id, kind=kind, amount_minor=0, reason=reason)
    if order.state == OrderState.ON_HOLD:
        raise ActionNotAllowed(Refusal.ON_HOLD)
    if order.state != OrderState.PAID:
        raise ActionNotAllowed(Refusal.NOT_PAID, state=order.state)

    if kind in (CommerceKind.DELIVER, CommerceKind.RETURN):
        if kind is CommerceKind.DELIVER and order.closed_at is not None:
            raise ActionNotAllowed(Refusal.CLOSED)
        lines = _chosen_lines(order, wanted.quantities, deliver=kind is CommerceKind.DELIVER)
        amount = sum(row.amount_minor for row in lines)
        if kind is CommerceKind.RETURN and amount > order.refundable_minor:
            raise ActionNotAllowed(
                Refusal.AMOUNT_TOO_LARGE, amount=amount, limit=order.refundable_minor
            )
        tracking = " ".join(wanted.tracking_code.split()) if kind is CommerceKind.DELIVER else ""
        if len(tracking) > TRACKING_MAX:
            raise ActionNotAllowed(Refusal.TOO_LONG, field="tracking code", limit=TRACKING_MAX)
        return CommerceAction(
            order_id=order.id,
            kind=kind,
            amount_minor=amount,
            tracking_code=tracking or None,
            lines=lines,
        )
    if kind is CommerceKind.REFUND:
        if wanted.amount_minor <= 0:
            raise ActionNotAllowed(Refusal.BAD_AMOUNT, text=str(wanted.amount_minor))
        if wanted.amount_minor > order.refundable_minor:
            raise ActionNotAllowed(
                Refusal.AMOUNT_TOO_LARGE, amount=wanted.amount_minor, limit=order.refundable_minor
            )
        return CommerceAction(order_id=order.id, kind=kind, amount_minor=wanted.amount_minor)
    # CLOSE: release what was authorized and not delivered.
    if order.closed_at is not None:
        raise ActionNotAllowed(Refusal.CLOSED)
    if order.delivered_minor <= 0:
        raise ActionNotAllowed(Refusal.NOTHING_DELIVERED)
    rest = max(order.authorized_minor - order.delivered_minor, 0)
    if rest <= 0 or not any(line.undelivered_quantity for line in order.lines):
        raise ActionNotAllowed(Refusal.NOTHING_LEFT)
    return CommerceAction(order_id=order.id, kind=kind, amount_minor=rest)


def _chosen_lines(
    order: Order, quantities: Mapping[int, int], *, deliver: bool
) -> list[CommerceActionLine]:
    by_id = {line.id: line for line in order.lines}
    rows: list[CommerceActionLine] = []
    for line_id, quantity in sorted(quantities.items()):
        if quantity == 0:
            continue
        line = by_id.get(line_id)
        if line is None:
            raise ActionNotAllowed(Refusal.UNKNOWN_LINE, line_id=line_id)
        limit = line.undelivered_quantity if deliver else line.returnable_quantity
        if not 0 < quantity <= limit:
            raise ActionNotAllowed(Refusal.TOO_MANY, line=line.name, quantity=quantity, limit=limit)
        amount = line.unit_price_minor * quantity
        rows.append(
            CommerceActionLine(
                order_line_id=line.id,
                quantity=quantity,
                amount_minor=amount,
                vat_minor=vat_included(amount, line.vat_percent),
            )
        )
    if not rows:
        raise ActionNotAllowed(Refusal.NOTHING_CHOSEN)
    return rows


# -- step 2 and 3: call and record ------------------------------------------------------------


class Answer(enum.StrEnum):
    APPLIED = "applied"
    REFUSED = "refused"
    UNKNOWN = "unknown"


def perform(
    session: Session,
    client: AvardaClient,
    action_id: int,
    *,
    admin_id: int | None,
    shop_url: str,
    now: datetime | None = None,
) -> CommerceAction:
    """Call Avarda for a ``requested`` action and record the outcome (see the module
    docstring). Returns the action as recorded."""
    action, order, lines = _load_for_call(session, action_id)
    if action.status != ActionStatus.REQUESTED:
        return action
    end_read(session)
    answer, code, message = _call(client, action, order, lines)
    return _record(session, action_id, answer, code, message, admin_id, shop_url, now)


def run_action(
    session: Session,
    client: AvardaClient,
    order_number: str,
    wanted: ActionRequest,
    *,
    admin_id: int | None,
    shop_url: str,
    lease: timedelta = DEFAULT_LEASE,
) -> ActionResult:
    """Request and perform in one go (the back office's forms). A second submission
    of the same form returns the first action and calls nobody."""
    result = request_action(session, order_number, wanted, admin_id=admin_id, lease=lease)
    if not result.new:
        return result
    action = perform(session, client, result.action.id, admin_id=admin_id, shop_url=shop_url)
    return ActionResult(action)


def retry_action(
    session: Session,
    client: AvardaClient,
    action_id: int,
    *,
    number: str,
    admin_id: int | None,
    shop_url: str,
    now: datetime | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> CommerceAction:
    """Send an unconfirmed action again, with its own TranId. A no-op for an action
    that is settled, or whose current attempt is still within its lease (another
    retry is running): :class:`ActionNotAllowed` ``NOT_RETRYABLE`` then."""
    now = now or utcnow()
    order_id = session.scalar(
        sa.select(CommerceAction.order_id)
        .join(Order, Order.id == CommerceAction.order_id)
        .where(CommerceAction.id == action_id, Order.number == number[:32])
    )
    if order_id is None:
        raise ActionNotAllowed(Refusal.NO_ORDER)
    with write_transaction(session):
        lock_order(session, order_id)
        action = session.execute(
            sa.select(CommerceAction)
            .where(CommerceAction.id == action_id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        stale = action.status == ActionStatus.REQUESTED and (
            action.lease_until is None or action.lease_until <= now
        )
        if not (action.status == ActionStatus.UNKNOWN or stale):
            raise ActionNotAllowed(Refusal.NOT_RETRYABLE, action=action)
        action.status = ActionStatus.REQUESTED
        action.attempts += 1
        action.lease_until = now + lease
    log.info("commerce: retrying %s %d (attempt %d)", action.kind, action.id, action.attempts)
    return perform(session, client, action_id, admin_id=admin_id, shop_url=shop_url)


def _load_for_call(
    session: Session, action_id: int
) -> tuple[CommerceAction, Order, list[tuple[OrderLine, CommerceActionLine]]]:
    action = session.execute(
        sa.select(CommerceAction)
        .where(CommerceAction.id == action_id)
        .options(selectinload(CommerceAction.lines))
        .execution_options(populate_existing=True)
    ).scalar_one()
    order = session.execute(
        sa.select(Order)
        .where(Order.id == action.order_id)
        .options(selectinload(Order.lines))
        .execution_options(populate_existing=True)
    ).scalar_one()
    by_id = {line.id: line for line in order.lines}
    return action, order, [(by_id[row.order_line_id], row) for row in action.lines]


def _items(rows: Sequence[tuple[OrderLine, CommerceActionLine]]) -> list[Item]:
    return [
        Item(
            description=line.name,
            notes=f"{line.sku} x {row.quantity}",
            amount=minor_to_decimal(row.amount_minor),
            tax_code=str(line.vat_percent),
            tax_amount=minor_to_decimal(row.vat_minor),
        )
        for line, row in rows
    ]


def _call(
    client: AvardaClient,
    action: CommerceAction,
    order: Order,
    rows: Sequence[tuple[OrderLine, CommerceActionLine]],
) -> tuple[Answer, str | None, str | None]:
    """Ask Avarda; (answer, Avarda's error code or our own word, message)."""
    purchase_id = order.purchase_id
    assert purchase_id is not None  # checked at request time
    kind = CommerceKind(action.kind)
    try:
        if kind is CommerceKind.CANCEL and action.attempts > 1:
            # No TranId for CancelPayment: after an unknown outcome, look first.
            status = client.get_payment_status(purchase_id)
            if status.state == PurchaseState.CANCELLED:
                return Answer.APPLIED, None, None
        if kind is CommerceKind.DELIVER:
            client.purchase_order(
                purchase_id,
                order_reference=order.number,
                items=_items(rows),
                tran_id=action.tran_id,
                tracking_code=action.tracking_code,
            )
        elif kind is CommerceKind.RETURN:
            client.return_order(
                purchase_id,
                order_reference=order.number,
                items=_items(rows),
                tran_id=action.tran_id,
            )
        elif kind is CommerceKind.REFUND:
            client.refund(
                purchase_id,
                order_reference=order.number,
                amount=minor_to_decimal(action.amount_minor),
                tran_id=action.tran_id,
            )
        elif kind is CommerceKind.CLOSE:
            client.refund_remaining(
                purchase_id, order_reference=order.number, tran_id=action.tran_id
            )
        else:
            client.cancel_payment(purchase_id, reason=action.reason or "Cancelled by the shop")
    except AvardaCommerceRefused as exc:
        return Answer.REFUSED, None if exc.code is None else str(exc.code), exc.plain_message
    except AvardaRefused as exc:
        return Answer.REFUSED, f"HTTP {exc.status}", exc.plain_message
    except AvardaNotSent as exc:
        return Answer.UNKNOWN, "not_sent", str(exc)
    except AvardaError as exc:
        if not exc.outcome_unknown:  # AvardaAuthError: the site credentials are wrong
            return Answer.REFUSED, "auth", str(exc)
        return Answer.UNKNOWN, type(exc).__name__, str(exc)
    return Answer.APPLIED, None, None


def _record(
    session: Session,
    action_id: int,
    answer: Answer,
    code: str | None,
    message: str | None,
    admin_id: int | None,
    shop_url: str,
    now: datetime | None,
) -> CommerceAction:
    now = now or utcnow()
    order_id = session.scalar(
        sa.select(CommerceAction.order_id).where(CommerceAction.id == action_id)
    )
    assert order_id is not None
    with write_transaction(session):
        order = lock_order(session, order_id)
        action = session.execute(
            sa.select(CommerceAction)
            .where(CommerceAction.id == action_id)
            .options(selectinload(CommerceAction.lines))
            .execution_options(populate_existing=True)
        ).scalar_one()
        if action.status != ActionStatus.REQUESTED:
            # A concurrent retry recorded an outcome first; this answer adds nothing.
            return action
        action.error_code = (code or "")[:32] or None
        action.error_message = message
        if answer is Answer.UNKNOWN:
            action.status = ActionStatus.UNKNOWN
        else:
            action.status = ActionStatus(answer.value)
            action.finished_at = now
            action.lease_until = None
        if answer is Answer.APPLIED:
            _apply(session, order, action, now, shop_url)
        attempt = action.attempts
        session.add(
            OrderEvent(
                order_id=order.id,
                path=ConfirmPath.ADMIN,
                at=now,
                attempt=attempt,
                outcome=EventOutcome.of_commerce(action.kind, answer.value),
                detail=_detail(code, message),
                admin_id=admin_id,
                action_id=action.id,
            )
        )
    log.info("commerce: %s %d for %s: %s", action.kind, action.id, order.number, answer.value)
    return action


def _detail(code: str | None, message: str | None) -> str:
    if code is None and message is None:
        return ""
    return f"{code}: {message}" if code else message or ""


def _apply(
    session: Session, order: Order, action: CommerceAction, now: datetime, shop_url: str
) -> None:
    """Avarda accepted ``action``: move the order forward (it is locked)."""
    kind = CommerceKind(action.kind)
    lines = {line.id: line for line in order.lines}
    restock: dict[int, int] = {}
    if kind is CommerceKind.DELIVER:
        for row in action.lines:
            lines[row.order_line_id].delivered_quantity += row.quantity
        order.delivered_minor += action.amount_minor
    elif kind is CommerceKind.RETURN:
        for row in action.lines:
            line = lines[row.order_line_id]
            line.returned_quantity += row.quantity
            restock[line.product_id] = restock.get(line.product_id, 0) + row.quantity
        order.returned_minor += action.amount_minor
    elif kind is CommerceKind.REFUND:
        order.refunded_minor += action.amount_minor
    elif kind is CommerceKind.CLOSE:
        order.released_minor += action.amount_minor
        order.closed_at = now
        for line in order.lines:
            if line.undelivered_quantity:
                restock[line.product_id] = (
                    restock.get(line.product_id, 0) + line.undelivered_quantity
                )
    else:
        if order.state == OrderState.PAID:  # stock was taken when it was paid
            for line in order.lines:
                restock[line.product_id] = restock.get(line.product_id, 0) + line.quantity
        order.state = OrderState.CANCELLED
        order.cancelled_at = now
        order.cancel_reason = action.reason
    order.updated_at = now
    for product_id, quantity in sorted(restock.items()):
        session.execute(
            sa.update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantity)
        )
    email = _customer_email(order, action, now, shop_url)
    if email is not None:
        session.add(email)


#: The e-mail each applied action sends (templates/mail/<name>.{subject,body}.txt).
MAIL_OF_KIND = {
    CommerceKind.DELIVER: "delivered",
    CommerceKind.RETURN: "returned",
    CommerceKind.REFUND: "refunded",
    CommerceKind.CLOSE: "closed",
    CommerceKind.CANCEL: "cancelled",
}


def _customer_email(
    order: Order, action: CommerceAction, now: datetime, shop_url: str
) -> OutboxEmail | None:
    if not order.customer_email:
        return None
    name = MAIL_OF_KIND[CommerceKind(action.kind)]
    lines = {line.id: line for line in order.lines}
    subject, body = render_email(
        name,
        order=order,
        action=action,
        rows=[(lines[row.order_line_id], row) for row in action.lines],
        order_url=f"{shop_url.rstrip('/')}/orders/{order.token}",
    )
    return OutboxEmail(
        order_id=order.id,
        kind=f"{name}-{action.id}",
        to_address=order.customer_email,
        subject=fit(OutboxEmail.__table__.c.subject, subject) or "",
        body=body,
        created_at=now,
        next_attempt_at=now,
    )


# -- checking with Avarda, resending the confirmation ---------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """Avarda's answer now (``status``, or ``problem`` when there was none) beside the
    order as the shop saw it before (``state_before``) and after the confirm step."""

    state_before: str
    status: PaymentStatus | None
    problem: str
    confirm: ConfirmResult


def check_with_avarda(
    session: Session, client: AvardaClient, number: str, *, admin_id: int | None, shop_url: str
) -> CheckResult:
    """GetPaymentStatus now, and the confirm step on path "admin": a pending order that
    Avarda reports Completed becomes paid (or failed, for a dead purchase), and the check
    is a notification event naming the admin, like any other."""
    order = session.scalar(sa.select(Order).where(Order.number == number[:32]))
    if order is None:
        raise ActionNotAllowed(Refusal.NO_ORDER)
    if order.purchase_id is None:
        raise ActionNotAllowed(Refusal.NOT_PAID, state=order.state)
    state_before, purchase_id = str(order.state), order.purchase_id
    end_read(session)
    status: PaymentStatus | None = None
    problem = ""
    try:
        status = client.get_payment_status(purchase_id)
    except AvardaError as exc:
        problem = str(exc)
    result = confirm_purchase(
        session, client, purchase_id, ConfirmPath.ADMIN, shop_url=shop_url, admin_id=admin_id
    )
    return CheckResult(state_before, status, problem, result)


CONFIRMATION = "order_confirmation"


def resend_confirmation(
    session: Session, number: str, *, admin_id: int | None, now: datetime | None = None
) -> OutboxEmail:
    """Queue the order's confirmation e-mail again (the mailer sends it). An e-mail
    still waiting to be sent is left as it is: asking twice sends it once."""
    now = now or utcnow()
    order_id = session.scalar(sa.select(Order.id).where(Order.number == number[:32]))
    if order_id is None:
        raise ActionNotAllowed(Refusal.NO_ORDER)
    with write_transaction(session):
        order = lock_order(session, order_id)
        mail = session.scalar(
            sa.select(OutboxEmail)
            .where(OutboxEmail.order_id == order.id, OutboxEmail.kind == CONFIRMATION)
            .execution_options(populate_existing=True)
        )
        if mail is None or not mail.to_address:
            raise ActionNotAllowed(Refusal.NO_EMAIL)
        if mail.sent_at is None and mail.failed_at is None:
            return mail
        mail.sent_at = None
        mail.failed_at = None
        mail.last_error = None
        mail.lease_until = None
        mail.next_attempt_at = now
        mail.created_at = now  # a new Date and Message-ID: it is a new message
        session.add(
            OrderEvent(
                order_id=order.id,
                path=ConfirmPath.ADMIN,
                at=now,
                attempt=mail.attempts + 1,
                outcome=EventOutcome.EMAIL_RESENT,
                detail=f"to {mail.to_address}",
                admin_id=admin_id,
                action_id=None,
            )
        )
    return mail


# -- reading ---------------------------------------------------------------------------------


def applied_actions(session: Session, order: Order) -> list[CommerceAction]:
    """The actions Avarda accepted, oldest first (what the customer's page tells)."""
    return list(
        session.scalars(
            sa.select(CommerceAction)
            .where(
                CommerceAction.order_id == order.id,
                CommerceAction.status == ActionStatus.APPLIED,
            )
            .options(selectinload(CommerceAction.lines))
            .order_by(CommerceAction.finished_at, CommerceAction.id)
        )
    )
