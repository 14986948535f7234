"""Transactions owned by the services, and the order-row lock.

``write_transaction()`` commits whatever the session had open (services never keep
a transaction across a network call), then runs its block in a fresh transaction
that commits on success and rolls back on any exception.

``lock_order()`` is the serialisation point of the confirm step: ``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite the write transaction itself already holds the
database write lock (``BEGIN IMMEDIATE``, see ``shop.extensions``), and ``FOR UPDATE`` is
simply not rendered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.extensions import IMMEDIATE, db
from shop.models import Order


@contextmanager
def write_transaction(session: Session | None = None) -> Iterator[Session]:
    """``session`` defaults to the app's (Flask-SQLAlchemy) session; the Flask-free
    services pass their own."""
    session = db.session() if session is None else session
    if session.in_transaction():
        session.commit()
    with session.begin():
        session.connection(execution_options={IMMEDIATE: True})
        yield session


def end_read() -> None:
    """Finish the current (read) transaction, releasing SQLite's lock before I/O."""
    session = db.session()
    if session.in_transaction():
        session.commit()


def lock_order(session: Session, order_id: int) -> Order:
    """The order row, locked until the transaction ends, with fresh attribute values."""
    stmt = (
        sa.select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.execute(stmt).scalar_one()
