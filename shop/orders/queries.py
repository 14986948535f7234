"""Reading orders for pages and JSON: lookups, the status document, the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import ConfirmPath, Order, OrderEvent, OrderState


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
        "delivered_minor": order.delivered_minor,
        "returned_minor": order.returned_minor,
        "refunded_minor": order.refunded_minor,
        #: A confirmation e-mail goes out once paid (Avarda reported a usable address).
        "confirmation_email": order.confirmation_mailable,
    }


@dataclass(frozen=True)
class Timeline:
    """What the order page tells about an order: its state and which path confirmed it,
    and every notification, oldest first. The sentences are in
    ``templates/orders/_timeline.html``."""

    order: Order
    events: list[OrderEvent]

    def first(self, path: ConfirmPath) -> OrderEvent | None:
        return next((e for e in self.events if e.path == path), None)

    @property
    def first_browser(self) -> OrderEvent | None:
        return self.first(ConfirmPath.BROWSER)

    @property
    def first_callback(self) -> OrderEvent | None:
        return self.first(ConfirmPath.CALLBACK)


def timeline(session: Session, order: Order) -> Timeline:
    """The notifications only: Commerce steps and resent e-mails are told apart
    (``templates/orders/_after_payment.html``)."""
    events = [
        e for e in order_events(session, order) if e.action_id is None and e.outcome.is_notification
    ]
    return Timeline(order, events)
