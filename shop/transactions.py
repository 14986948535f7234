"""Transactions owned by the services, and the order-row lock.

Every function takes the caller's SQLAlchemy ``Session``: the services work with any
session (Flask-SQLAlchemy's ``db.session()`` in the app, a plain ``Session`` elsewhere),
as long as its engine got :func:`common.db.configure_sqlite` on SQLite.

``write_transaction(session)`` commits whatever the session had open (services never
keep a transaction across a network call), then runs its block in a fresh transaction
that commits on success and rolls back on any exception. On SQLite it begins with
``BEGIN IMMEDIATE``: the database write lock is taken at once, so concurrent writers
queue instead of failing half-way (the threads of one process queue on
:func:`common.db.writer_turn` first, which hands the lock over without SQLite's sleeps).

``lock_order()`` is the serialisation point of the confirm step: ``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite the write transaction already holds the database
write lock, and ``FOR UPDATE`` is simply not rendered. ``populate_existing`` makes the
row's values fresh even if the session had loaded the order before the lock: a stale
"pending" read before the lock would let two notifications both pay the order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.db import IMMEDIATE, writer_turn

from .models import Order


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    if session.in_transaction():
        session.commit()
    with writer_turn(session.get_bind()), session.begin():
        session.connection(execution_options={IMMEDIATE: True})
        yield session


def end_read(session: Session) -> None:
    """Finish the current (read) transaction, releasing SQLite's lock before I/O."""
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
