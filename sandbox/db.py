"""Database setup: the Flask-SQLAlchemy object, column types, SQLite tuning, transactions.

SQLite runs in WAL mode with a busy timeout, and every transaction starts with
``BEGIN IMMEDIATE`` (``common.db.configure_sqlite`` with ``always_immediate``): a
transaction takes the write lock when it starts instead of failing with "database is
locked" when it first writes after a read. That serialises writers, which is what makes
the sandbox's read-check-write sequences (state transitions, delivery claims) safe on
SQLite. On PostgreSQL the same code takes row locks with ``SELECT … FOR UPDATE``
(SQLite's compiler drops that clause).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session

from common import db as common_db
from common.db import NAMING_CONVENTION, utcnow

__all__ = ["Base", "Money", "UTCDateTime", "configure_sqlite", "db", "transaction", "utcnow"]

CENT = Decimal("0.01")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class Money(sa.TypeDecorator[Decimal]):
    """A Decimal amount with two decimals, stored as integer minor units (öre, cents).

    Integers keep SQLite exact (it has no decimal type) and avoid float anywhere.
    Binding a value with more than two decimals is a programming error: validation
    rejects such input before it gets here.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: sa.Dialect) -> int | None:
        if value is None:
            return None
        cents = Decimal(value) * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"amount {value} has more than two decimals")
        return int(cents)

    def process_result_value(self, value: int | None, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(CENT)


class UTCDateTime(common_db.UTCDateTime):
    """Timezone-aware UTC datetimes, stored naive on every database (the sandbox's
    schema has always been so)."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=False)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction."""
    common_db.configure_sqlite(engine, busy_timeout_ms=busy_timeout_ms, always_immediate=True)


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    Services wrap each operation in this; views never commit.
    """
    session = db.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
