"""Database setup: the Flask-SQLAlchemy object, column types, SQLite tuning, transactions.

SQLite runs in WAL mode with a busy timeout, and every transaction starts with
``BEGIN IMMEDIATE`` (the pysqlite recipe from SQLAlchemy's docs): a transaction takes the
write lock when it starts instead of failing with "database is locked" when it first
writes after a read. That serialises writers, which is what makes the sandbox's
read-check-write sequences (state transitions, delivery claims) safe on SQLite. On
PostgreSQL the same code takes row locks with ``SELECT … FOR UPDATE`` (SQLite's compiler
drops that clause).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session

CENT = Decimal("0.01")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    return datetime.now(UTC)


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


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes, stored naive (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use sandbox.db.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    Services wrap each operation in this; views never commit.
    """
    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
