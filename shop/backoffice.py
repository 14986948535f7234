"""What the back office's pages read: orders with their notifications, the outbox, stock.

The admin views build no SQL; they call these. Framework-free: every function takes a
SQLAlchemy ``Session``. Its users are in ``shop.orders.admins``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from shop.models import Order, OrderEvent, OrderState, OutboxEmail, Product

#: Rows per admin list at most.
PAGE_SIZE = 100


class OrderRow(NamedTuple):
    order: Order
    events: int


def recent_orders(
    session: Session, state: OrderState | None = None, limit: int = PAGE_SIZE
) -> list[OrderRow]:
    """Newest first, each with its number of notifications."""
    query = (
        sa.select(Order, sa.func.count(OrderEvent.id))
        .outerjoin(OrderEvent, OrderEvent.order_id == Order.id)
        .group_by(Order.id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(Order.state == state)
    return [OrderRow(order, events) for order, events in session.execute(query).all()]


def order_counts(session: Session) -> dict[str, int]:
    """How many orders are in each state (states without orders are missing)."""
    rows = session.execute(sa.select(Order.state, sa.func.count()).group_by(Order.state)).all()
    return {str(state): count for state, count in rows}


def order_by_number(session: Session, number: str) -> Order | None:
    """The order with its lines and events loaded, or None."""
    return session.scalar(
        sa.select(Order)
        .where(Order.number == number[:32])
        .options(selectinload(Order.lines), selectinload(Order.events))
    )


def emails_of(session: Session, order: Order) -> Sequence[OutboxEmail]:
    return session.scalars(
        sa.select(OutboxEmail).where(OutboxEmail.order_id == order.id).order_by(OutboxEmail.id)
    ).all()


class OutboxRow(NamedTuple):
    email: OutboxEmail
    order_number: str


def outbox(session: Session, limit: int = PAGE_SIZE) -> list[OutboxRow]:
    """The newest e-mails in the outbox, with their order's number."""
    rows = session.execute(
        sa.select(OutboxEmail, Order.number)
        .join(Order, Order.id == OutboxEmail.order_id)
        .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
        .limit(limit)
    ).all()
    return [OutboxRow(email, number) for email, number in rows]


def products(session: Session) -> Sequence[Product]:
    return session.scalars(sa.select(Product).order_by(Product.id)).all()
