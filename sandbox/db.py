"""Database setup: the Flask-SQLAlchemy object, column types, SQLite tuning, transactions.

SQLite runs in WAL mode with a busy timeout (``common.db.configure_sqlite``). Reads run
in plain deferred transactions, which in WAL mode block nobody; every unit of work
that may write runs in :func:`transaction`, which begins with ``BEGIN IMMEDIATE``: it
takes the write lock when it starts instead of failing with "database is locked" when it
first writes after a read. That serialises writers, which is what makes the sandbox's
read-check-write sequences (state transitions, delivery claims) safe on SQLite. On
PostgreSQL the same code takes row locks with ``SELECT … FOR UPDATE`` (SQLite's compiler
drops that clause).

The caveat: every write must go through :func:`transaction`. A read left open (a view
looking up its merchant) must not hold the write lock while the request body is still
being read from the network: with every transaction immediate, as before, one slow
client stalled every writer of the sandbox.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session

from common import db as common_db
from common.db import IMMEDIATE, NAMING_CONVENTION, utcnow, writer_turn

__all__ = [
    "Base",
    "CommitWatch",
    "Money",
    "UTCDateTime",
    "announce",
    "configure_sqlite",
    "db",
    "transaction",
    "utcnow",
]

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
    """WAL, busy timeout, foreign keys; BEGIN IMMEDIATE for :func:`transaction`."""
    common_db.configure_sqlite(engine, busy_timeout_ms=busy_timeout_ms)


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    Services wrap each operation in this; views never commit. A read transaction still
    open is ended first; then, on SQLite, the threads of this process take turns
    (``common.db.writer_turn``) and the transaction begins with ``BEGIN IMMEDIATE``.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    with writer_turn(db.engine):
        try:
            session.connection(execution_options={IMMEDIATE: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def announce(channel: str) -> None:
    """Wake the :class:`CommitWatch` es on ``channel`` when the current transaction commits.

    On PostgreSQL a ``NOTIFY``, which the server delivers at commit (never for a rolled-back
    transaction); on SQLite nothing is needed, a watch sees every commit.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_notify(channel, "")))


class CommitWatch:
    """Sleep until another process commits a change, or until a timeout: how a worker
    learns of new work at once instead of at its next poll.

    SQLite: ``PRAGMA data_version`` on a connection of the watch's own changes whenever
    another connection commits a change; it is read every :attr:`TICK` seconds (a few
    microseconds each, no lock taken). PostgreSQL: ``LISTEN channel``; writers call
    :func:`announce` in their transaction. Other databases: only the timeout.

    A wake-up is a hint: the caller looks for work either way, and the timeout bounds
    the wait when a hint never comes (a commit that was not announced).
    """

    TICK = 0.01

    def __init__(self, engine: sa.Engine, channel: str) -> None:
        self._dialect = engine.dialect.name
        self._raw = engine.raw_connection()
        self._version: Any = None
        if self._dialect == "postgresql":
            driver: Any = self._raw.driver_connection
            driver.autocommit = True
            driver.execute(f'LISTEN "{channel}"')
        elif self._dialect == "sqlite":
            self._version = self._data_version()

    def _data_version(self) -> Any:
        cursor = self._raw.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            row: Any = cursor.fetchone()
            return row[0]
        finally:
            cursor.close()

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """True as soon as something was committed (or announced); False after
        ``timeout`` seconds or once ``stop`` is set."""
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._dialect == "postgresql":
                driver: Any = self._raw.driver_connection
                if any(True for _ in driver.notifies(timeout=min(0.25, remaining), stop_after=1)):
                    for _ in driver.notifies(timeout=0):  # what else is already there
                        pass
                    return True
            elif self._dialect == "sqlite":
                version = self._data_version()
                if version != self._version:
                    self._version = version
                    return True
                stop.wait(min(self.TICK, remaining))
            else:
                stop.wait(remaining)
        return False

    def close(self) -> None:
        """Let go of the watch's connection (closed, not returned to the pool)."""
        self._raw.invalidate()
