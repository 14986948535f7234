"""Reading orders for pages and JSON: the status document and the timeline in words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.models import ConfirmPath, Order, OrderEvent, OrderState
from shop.orders.confirm import EventOutcome

PATH_WORDS = {
    ConfirmPath.CALLBACK.value: "Avarda's server-side callback",
    ConfirmPath.BROWSER.value: "your browser returning to the shop",
    ConfirmPath.SWEEP.value: "the shop's background check",
    ConfirmPath.ADMIN.value: "our staff checking with Avarda",
}


def get_order_by_token(session: Session, token: str) -> Order | None:
    """The order of a public token; None for an unknown or impossible token (tokens
    longer than the column are refused before the database is asked)."""
    if not token or len(token) > 64:
        return None
    return session.scalars(sa.select(Order).where(Order.token == token)).one_or_none()


def get_order_by_purchase_id(session: Session, purchase_id: str) -> Order | None:
    return session.scalars(sa.select(Order).where(Order.purchase_id == purchase_id)).one_or_none()


def order_events(session: Session, order: Order) -> list[OrderEvent]:
    return list(
        session.scalars(
            sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
        )
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_status_json(order: Order) -> dict[str, Any]:
    """The small status document polled by the done page (and read by tests)."""
    return {
        "token": order.token,
        "number": order.number,
        "state": order.state,
        "final": order.state != OrderState.PENDING,
        "confirmed_by": order.confirmed_by,
        "confirmed_at": _iso(order.confirmed_at),
        "purchase_id": order.purchase_id,
        "total_minor": order.total_minor,
        "currency": order.currency,
        "payment_method": order.payment_method,
        "updated_at": _iso(order.updated_at),
    }


def _hms(value: datetime) -> str:
    return value.strftime("%H:%M:%S")


def timeline(session: Session, order: Order) -> list[str]:
    """The order's story in plain sentences, newest knowledge first.

    The first sentence sums up the state and which path confirmed it; the others
    list every notification, in order. Times are UTC.
    """
    events = order_events(session, order)
    sentences = [_headline(order, events)]
    sentences.append(f"Order {order.number} was placed at {_hms(order.created_at)} (UTC).")
    sentences.extend(_event_sentence(e) for e in events)
    return sentences


def _first(events: Sequence[OrderEvent], path: str) -> OrderEvent | None:
    return next((e for e in events if e.path == path), None)


def _headline(order: Order, events: Sequence[OrderEvent]) -> str:
    state = OrderState(order.state)
    if state is OrderState.PENDING:
        return (
            "Waiting for payment. Avarda has not reported a completed purchase yet; "
            "this page updates when it does."
        )
    if state is OrderState.FAILED:
        return "Not paid. Avarda reports that the purchase was cancelled, failed or timed out."
    if state is OrderState.CANCELLED:
        return "Cancelled. The shop cancelled this order with Avarda; nothing will be charged."
    at = _hms(order.confirmed_at) if order.confirmed_at else "an unknown time"
    by = order.confirmed_by
    if state is OrderState.ON_HOLD:
        prefix = f"On hold for review since {at}: {order.hold_reason or 'see the events'}"
        return prefix if prefix.endswith(".") else prefix + "."

    browser = _first(events, ConfirmPath.BROWSER.value)
    callback = _first(events, ConfirmPath.CALLBACK.value)
    if by == ConfirmPath.CALLBACK.value:
        tail = (
            f"your browser returned at {_hms(browser.at)} and found it already paid."
            if browser
            else "your browser did not return to the shop."
        )
        return f"Paid. Confirmed by Avarda's server-side callback at {at}; {tail}"
    if by == ConfirmPath.BROWSER.value:
        tail = (
            f"Avarda's server-side callback arrived at {_hms(callback.at)} and found it "
            "already paid."
            if callback
            else "Avarda's server-side callback has not arrived."
        )
        return f"Paid. Confirmed when your browser returned to the shop at {at}; {tail}"
    if by == ConfirmPath.ADMIN.value:
        return f"Paid. Confirmed when our staff checked with Avarda at {at}."
    return (
        f"Paid. Confirmed by the shop's background check at {at}; neither your browser "
        "nor Avarda's server-side callback had reached the shop."
        if not (browser or callback)
        else f"Paid. Confirmed by the shop's background check at {at}."
    )


_EVENT_WORDS = {
    EventOutcome.PAID.value: "the order was marked paid",
    EventOutcome.HELD.value: "the order was put on hold for review",
    EventOutcome.FAILED.value: "the order was marked failed",
    EventOutcome.DUPLICATE.value: "nothing changed, the order was already final",
    EventOutcome.PENDING.value: "the payment was not complete yet",
    EventOutcome.AVARDA_UNAVAILABLE.value: "Avarda could not be asked, nothing changed",
}


def _event_sentence(event: OrderEvent) -> str:
    who = PATH_WORDS.get(event.path, event.path)
    who = who[0].upper() + who[1:]
    said = f"Avarda said {event.avarda_state}" if event.avarda_state else "no answer from Avarda"
    attempt = f" (notification {event.attempt})" if event.attempt > 1 else ""
    what = _EVENT_WORDS.get(event.outcome, event.outcome)
    return f"{_hms(event.at)}: {who}{attempt}. {said}; {what}."
