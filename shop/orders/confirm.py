"""The one confirm step, used by the server callback, the done page and the sweep.

1. Find the order of the purchase (unknown purchase: stop, nothing is written).
2. Ask Avarda for the purchase's status (GetPaymentStatus, short timeout), with no
   transaction open: the browser's ``done`` and the callback carry no result, only
   Avarda's own answer counts.
3. In ONE transaction that locks the order row, decide and apply:

   ========================  ===========  ===============================================
   Avarda says               order was    result
   ========================  ===========  ===============================================
   Completed                 pending      paid (price matches, stock suffices): method and
                                          customer recorded, stock decremented, one
                                          confirmation e-mail in the outbox; otherwise
                                          on_hold with the reason
   Completed                 failed       on_hold: money arrived for a failed order, a
                                          human must look (never silently dropped)
   Error/TimedOut/Cancelled  pending      failed
   a State or PaymentMethod  pending or   unchanged, needs attention: the value is
   the shop does not know,   failed       recorded on the order (``avarda_problem``,
   or Avarda refusing to                  one event per new value), logged as a
   report the purchase                    warning; the callback gets 503
   anything else             pending      stays pending
   anything                  paid/on_hold unchanged (states only move forward)
                             /cancelled
   (unreachable)             any          unchanged
   ========================  ===========  ===============================================

   A Completed purchase is paid with the lines Avarda charged: a cart change sent
   during the payment is settled by Avarda's price (:mod:`shop.orders.cart_change`).
   A Completed purchase of an order the customer's cart had moved away from
   (``replaced_by_number``) is held for review: the customer may have paid twice.

   The notification itself is written as an ``OrderEvent`` in that same transaction,
   duplicates included, so "done" and its effect commit together or not at all. The
   path that first moved the order out of pending is kept in ``confirmed_by``.

Framework-free: it takes the SQLAlchemy ``Session``, the Avarda client and the shop's
public URL (for the e-mail's link) as arguments, and imports nothing from Flask.

Concurrency: the row lock (``FOR UPDATE`` on PostgreSQL, the database write lock of
``BEGIN IMMEDIATE`` on SQLite) makes concurrent notifications for one order run one
after the other; each re-reads the state under the lock, so exactly one of them sees
"pending" and does the work.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.addresses import single_recipient
from common.db import fit, utcnow

from ..avarda import (
    AvardaClient,
    AvardaError,
    AvardaProtocolError,
    AvardaRefused,
    PaymentStatus,
    Unrecognized,
    decimal_to_minor,
    payment_method_label,
)
from ..models import (
    ConfirmPath,
    EventOutcome,
    Order,
    OrderEvent,
    OrderState,
    OutboxEmail,
    Product,
)
from ..texts import render_email
from ..transactions import end_read, lock_order, write_transaction
from .cart_change import settle_by_price

log = logging.getLogger(__name__)


class ConfirmOutcome(enum.StrEnum):
    CONFIRMED_NOW = "confirmed_now"  # this notification made the order paid
    ALREADY_CONFIRMED = "already_confirmed"  # it was paid before
    PENDING = "pending"  # Avarda does not say Completed (yet)
    FAILED = "failed"  # the order is failed (now or before)
    ON_HOLD = "on_hold"  # the order is held for review (now or before)
    CANCELLED = "cancelled"  # the merchant cancelled the paid order (CancelPayment)
    UNKNOWN_PURCHASE = "unknown_purchase"  # no order has this purchase id
    AVARDA_UNAVAILABLE = "avarda_unavailable"  # no trustworthy status to act on
    NEEDS_ATTENTION = "needs_attention"  # Avarda's answer means nothing the shop knows


@dataclass(frozen=True)
class ConfirmResult:
    outcome: ConfirmOutcome
    order: Order | None
    avarda_state: str | None = None

    @property
    def state(self) -> OrderState | None:
        return self.order.state if self.order is not None else None

    @property
    def order_token(self) -> str | None:
        return self.order.token if self.order is not None else None

    @property
    def is_done(self) -> bool:
        """The shop reached a final decision for this purchase (answer Avarda 2xx)."""
        return self.outcome in {
            ConfirmOutcome.CONFIRMED_NOW,
            ConfirmOutcome.ALREADY_CONFIRMED,
            ConfirmOutcome.ON_HOLD,
            ConfirmOutcome.FAILED,
            ConfirmOutcome.CANCELLED,
        }


def confirm_purchase(
    session: Session,
    client: AvardaClient,
    purchase_id: str,
    path: ConfirmPath,
    *,
    shop_url: str,
    admin_id: int | None = None,
) -> ConfirmResult:
    """Learn the truth about ``purchase_id`` from Avarda and apply it to its order.

    ``shop_url`` is the shop's public base URL (``SHOP_PUBLIC_URL``): the confirmation
    e-mail links to the order page under it. Idempotent and safe to run concurrently
    from any number of processes. Database errors propagate (callers answer "try
    again"; the session is left for the caller to roll back); Avarda errors become
    ``AVARDA_UNAVAILABLE`` without changing the order. ``admin_id`` names the admin
    who asked (path "admin": "Check with Avarda").
    """
    via = ConfirmPath(path)
    found = session.execute(
        sa.select(Order.id, Order.state).where(Order.purchase_id == purchase_id)
    ).one_or_none()
    end_read(session)
    if found is None:
        log.info("confirm via %s: unknown purchase %s", via, purchase_id)
        return ConfirmResult(ConfirmOutcome.UNKNOWN_PURCHASE, None)
    order_id, read_state = found

    # Nothing Avarda says changes a paid, held or cancelled order: a browser coming back
    # to one (anyone who knows the purchase id, any number of times) does not ask.
    settled = via is ConfirmPath.BROWSER and read_state in _SETTLED
    status: PaymentStatus | None = None
    problem = ""
    unreadable = ""
    if not settled:
        try:
            status = client.get_payment_status(purchase_id)
        except (AvardaRefused, AvardaProtocolError) as exc:
            # Avarda answered, and the answer is no status: asking again will not help.
            problem = str(exc)
            unreadable = _unreadable(exc)
        except AvardaError as exc:
            problem = str(exc)
            log.warning("confirm via %s: GetPaymentStatus failed: %s", via, problem)

    label = status.state_label if status else None
    with write_transaction(session):
        order = lock_order(session, order_id)
        attention = unreadable or (_unrecognised(status) if status is not None else "")
        if not attention and status is not None and order.avarda_problem is not None:
            order.avarda_problem = None  # Avarda's answer makes sense again
        if settled and order.state in _SETTLED:
            outcome, event_outcome, detail = (
                _FINAL_OUTCOME[order.state],
                EventOutcome.DUPLICATE,
                "",
            )
        elif attention and order.state in (OrderState.PENDING, OrderState.FAILED):
            outcome, event_outcome, detail = _needs_attention(order, attention)
        else:
            outcome, event_outcome, detail = _apply(session, order, status, via, problem, shop_url)
        if not (via is ConfirmPath.SWEEP and event_outcome in _SWEEP_QUIET):
            _record_event(session, order, via, label, event_outcome, detail, admin_id)
    log.info("confirm %s via %s: %s", order.number, via, outcome)
    return ConfirmResult(outcome, order, label)


def _record_event(
    session: Session,
    order: Order,
    via: ConfirmPath,
    label: str | None,
    event_outcome: EventOutcome,
    detail: str,
    admin_id: int | None,
) -> None:
    """The notification as an order event, in the caller's transaction.

    A browser return that changes nothing, right after another such return, is counted
    on that event (``repeats``) instead of adding a row: the done page is public, and a
    reload loop must not grow the order's history without bound. Otherwise one INSERT
    numbers the event among its path's notifications itself (no count query first).
    """
    if via is ConfirmPath.BROWSER and event_outcome is EventOutcome.DUPLICATE:
        last = session.scalars(
            sa.select(OrderEvent)
            .where(OrderEvent.order_id == order.id, OrderEvent.action_id.is_(None))
            .order_by(OrderEvent.id.desc())
            .limit(1)
        ).first()
        if (
            last is not None
            and last.path == ConfirmPath.BROWSER
            and last.outcome == EventOutcome.DUPLICATE
        ):
            last.repeats = (last.repeats or 0) + 1
            return
    session.execute(
        _INSERT_EVENT,
        {
            "order_id": order.id,
            "path": via,
            "at": utcnow(),
            "avarda_state": fit(_EVENTS.c.avarda_state, label),
            "outcome": event_outcome,
            "detail": detail,
            "admin_id": admin_id,
            "of_order": order.id,
            "of_path": via,
        },
    )


_EVENTS = cast(sa.Table, OrderEvent.__table__)
#: Built once: the event, its ``attempt`` counted by the INSERT itself.
_INSERT_EVENT = _EVENTS.insert().values(
    attempt=sa.select(sa.func.count() + 1)
    .where(
        _EVENTS.c.order_id == sa.bindparam("of_order"),
        _EVENTS.c.path == sa.bindparam("of_path", type_=_EVENTS.c.path.type),
        _EVENTS.c.action_id.is_(None),
    )
    .scalar_subquery()
)


#: Final states no status from Avarda can change (a failed order still can: money may
#: arrive late, and must be seen).
_SETTLED = frozenset({OrderState.PAID, OrderState.ON_HOLD, OrderState.CANCELLED})

# A sweep that finds nothing new leaves no trace, or every abandoned order would
# collect an event per sweep run until Avarda times the purchase out.
_SWEEP_QUIET = {EventOutcome.PENDING, EventOutcome.AVARDA_UNAVAILABLE, EventOutcome.ATTENTION_AGAIN}


def _unrecognised(status: PaymentStatus) -> str:
    """What in Avarda's status this shop does not know, or "" (never guessed at)."""
    unknown = [
        value.label
        for value in (status.state, status.payment_method)
        if isinstance(value, Unrecognized)
    ]
    if not unknown:
        return ""
    return "Avarda reports " + " and ".join(unknown) + ", which this shop does not know."


def _unreadable(exc: AvardaError) -> str:
    if isinstance(exc, AvardaRefused):
        said = exc.plain_message
        return f"Avarda refuses to report this purchase: {said}"
    return "Avarda's answer about this purchase could not be read."


def _needs_attention(order: Order, problem: str) -> tuple[ConfirmOutcome, EventOutcome, str]:
    """Record Avarda's answer that nothing here can act on; change nothing else.

    The order keeps its state; the text goes on the order (the back office lists it as
    needing attention) and into one event, and is logged as a warning, only when it is
    new: a sweep every 30 seconds must not repeat it.
    """
    problem = fit(Order.__table__.c.avarda_problem, problem) or ""
    if order.avarda_problem == problem:
        return ConfirmOutcome.NEEDS_ATTENTION, EventOutcome.ATTENTION_AGAIN, ""
    order.avarda_problem = problem
    order.updated_at = utcnow()
    log.warning("order %s needs attention: %s", order.number, problem)
    return ConfirmOutcome.NEEDS_ATTENTION, EventOutcome.ATTENTION, problem


_FINAL_OUTCOME = {
    OrderState.PAID: ConfirmOutcome.ALREADY_CONFIRMED,
    OrderState.ON_HOLD: ConfirmOutcome.ON_HOLD,
    OrderState.FAILED: ConfirmOutcome.FAILED,
    OrderState.CANCELLED: ConfirmOutcome.CANCELLED,
}


def _apply(
    session: Session,
    order: Order,
    status: PaymentStatus | None,
    via: ConfirmPath,
    problem: str,
    shop_url: str,
) -> tuple[ConfirmOutcome, EventOutcome, str]:
    """Decide under the lock; mutate ``order`` (and stock, outbox) accordingly."""
    state = order.state
    now = utcnow()

    if status is None:
        if state in (OrderState.PAID, OrderState.ON_HOLD, OrderState.CANCELLED):
            return _FINAL_OUTCOME[state], EventOutcome.DUPLICATE, f"Avarda unreachable ({problem})"
        # A failed order stays "unavailable" so a callback is retried: it may be a
        # late completion that must not be acknowledged unseen.
        return ConfirmOutcome.AVARDA_UNAVAILABLE, EventOutcome.AVARDA_UNAVAILABLE, problem

    if status.is_completed:
        if state is OrderState.PENDING:
            _record_payment(order, status)
            charged = decimal_to_minor(status.price) if status.price is not None else None
            reason = settle_by_price(order, charged) or _hold_reason(session, order, status)
            if reason:
                _finish(order, OrderState.ON_HOLD, via, now)
                order.hold_reason = reason
                return ConfirmOutcome.ON_HOLD, EventOutcome.HELD, reason
            _finish(order, OrderState.PAID, via, now)
            _take_stock(session, order)
            session.add(_confirmation_email(order, now, shop_url))
            return ConfirmOutcome.CONFIRMED_NOW, EventOutcome.PAID, ""
        if state is OrderState.FAILED:
            _record_payment(order, status)
            reason = "Avarda reports Completed for an order the shop had marked failed."
            _finish(order, OrderState.ON_HOLD, via, now)
            order.hold_reason = reason
            return ConfirmOutcome.ON_HOLD, EventOutcome.HELD, reason
        return _FINAL_OUTCOME[state], EventOutcome.DUPLICATE, ""

    if status.is_dead:
        if state is OrderState.PENDING:
            order.state = OrderState.FAILED
            order.updated_at = now
            return ConfirmOutcome.FAILED, EventOutcome.FAILED, ""
        return (
            _FINAL_OUTCOME[state],
            EventOutcome.DUPLICATE,
            f"late {status.state_label} ignored: the order is already {state.value}",
        )

    if state is OrderState.PENDING:
        return ConfirmOutcome.PENDING, EventOutcome.PENDING, ""
    return _FINAL_OUTCOME[state], EventOutcome.DUPLICATE, ""


def _finish(order: Order, state: OrderState, via: ConfirmPath, now: datetime) -> None:
    order.state = state
    order.confirmed_by = via
    order.confirmed_at = now
    order.updated_at = now


def _record_payment(order: Order, status: PaymentStatus) -> None:
    """Store the method, customer and price Avarda reports, each cut to fit its column."""
    customer = status.customer
    reported = {
        "payment_method": payment_method_label(status.payment_method),
        "customer_email": customer.email,
        "customer_phone": customer.phone,
        "customer_first_name": customer.first_name,
        "customer_last_name": customer.last_name,
        "customer_address_line1": customer.address_line1,
        "customer_address_line2": customer.address_line2,
        "customer_zip": customer.zip,
        "customer_city": customer.city,
        "customer_country": customer.country,
    }
    for name, value in reported.items():
        setattr(order, name, fit(Order.__table__.c[name], value))
    delivery = status.delivery
    for name in ("first_name", "last_name", "address_line1", "address_line2", "zip", "city"):
        column = f"delivery_{name}"
        value = None if delivery is None else getattr(delivery, name)
        setattr(order, column, fit(Order.__table__.c[column], value))
    if status.price is not None:
        order.avarda_price_minor = decimal_to_minor(status.price)


def _hold_reason(session: Session, order: Order, status: PaymentStatus) -> str:
    """Why a Completed purchase cannot simply be accepted, or "" if it can."""
    avarda_minor = decimal_to_minor(status.price) if status.price is not None else None
    if avarda_minor != order.total_minor:
        shown = "nothing" if status.price is None else f"{status.price}"
        return (
            f"Amount mismatch: Avarda charged {shown}, the order totals "
            f"{order.total_minor / 100:.2f} {order.currency}."
        )
    if status.order_reference and status.order_reference != order.number:
        return f"Avarda's order reference {status.order_reference!r} is not {order.number}."
    if order.replaced_by_number:
        return (
            f"Paid after the customer's cart had moved to order {order.replaced_by_number}: "
            "check that the customer did not pay twice before delivering."
        )
    wanted = _wanted(order)
    rows = session.execute(
        sa.select(Product.id, Product.sku, Product.stock)
        .where(Product.id.in_(list(wanted)))
        .order_by(Product.id)
        .with_for_update()
    ).all()
    short = [sku for pid, sku, stock in rows if stock < wanted[pid]]
    if short:
        return "Paid, but not enough stock left for: " + ", ".join(short) + "."
    return ""


def _wanted(order: Order) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for line in order.lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    return wanted


def _take_stock(session: Session, order: Order) -> None:
    """Atomic decrements, in product id order (no deadlock between two orders)."""
    for product_id, quantity in sorted(_wanted(order).items()):
        session.execute(
            sa.update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock - quantity)
        )


def _confirmation_email(order: Order, now: datetime, shop_url: str) -> OutboxEmail:
    """The confirmation e-mail for the outbox, to the one address Avarda reported.

    An address that is not exactly one usable address (``a@x, victim@y``, a display
    name, nothing at all) sends nothing: the row is written already given up, so the
    order needs attention in the back office and its page promises no e-mail.
    """
    kind = "order_confirmation"
    subject, body = render_email(
        kind, order=order, order_url=f"{shop_url.rstrip('/')}/orders/{order.token}"
    )
    recipient = single_recipient(order.customer_email)
    mail = OutboxEmail(
        order_id=order.id,
        kind=kind,
        to_address=fit(OutboxEmail.__table__.c.to_address, recipient or order.customer_email) or "",
        subject=subject,
        body=body,
        created_at=now,
    )
    if recipient is None:
        mail.next_attempt_at = sa.null()  # not the column default (now)
        mail.failed_at = now
        mail.last_error = "Avarda reported no usable recipient address: nothing was sent."
    return mail
