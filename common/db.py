"""Database plumbing shared by both apps: the naming convention, UTC datetimes, and the
SQLite recipe (WAL, busy timeout, foreign keys, ``BEGIN IMMEDIATE``).

SQLite and transactions: pysqlite's own transaction handling is switched off and the
``begin`` hook issues ``BEGIN`` itself. A transaction that will write must start with
``BEGIN IMMEDIATE``, taking the database write lock at once, so that two writers queue
on the busy timeout instead of one failing half-way with "database is locked" when it
first writes after a read. With ``always_immediate`` every transaction does so (the
sandbox); otherwise only a connection given the execution option :data:`IMMEDIATE` does
(the shop's ``write_transaction``), and reads stay deferred, blocking nobody in WAL mode.
The caveat of the second mode: every write must go through such a transaction, and no
code may keep one open across a network call. On PostgreSQL none of this applies and
``SELECT … FOR UPDATE`` takes row locks (SQLite's compiler drops that clause).

Writers of one process take turns on a lock of their own first (:func:`writer_turn`):
SQLite's busy handler polls with sleeps growing to 100 ms, so under load a write lock
freed by one thread sat idle while its neighbours slept; a Python lock hands it over at
once, and only writers of other processes still meet the busy handler.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Execution option that makes a SQLite transaction begin with ``BEGIN IMMEDIATE``.
IMMEDIATE = "sqlite_begin_immediate"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime in Python on every database.

    Naive datetimes are refused when binding (a naive value is a bug: whose local time?).
    ``UTCDateTime()`` is ``TIMESTAMP WITH TIME ZONE`` where the database has it (SQLite
    stores it naive, in UTC); ``UTCDateTime(timezone=False)`` stores naive UTC everywhere.
    Either way values come back aware, in UTC.
    """

    impl = sa.DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=timezone)
        self.timezone = timezone  # also part of SQLAlchemy's cache key

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC times (utcnow())")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite" or not self.timezone:
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def configure_sqlite(
    engine: sa.Engine, *, busy_timeout_ms: int = 15_000, always_immediate: bool = False
) -> None:
    """Install the recipe (see the module docstring) on ``engine``; other databases are
    left alone."""
    if engine.dialect.name != "sqlite":
        return
    _writer_locks[engine] = (threading.RLock(), busy_timeout_ms / 1000)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the "begin" hook below issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = always_immediate or connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_writer_locks: weakref.WeakKeyDictionary[sa.Engine, tuple[threading.RLock, float]] = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def writer_turn(bind: sa.Engine | sa.Connection) -> Iterator[None]:
    """Wrap a write transaction: on a SQLite engine set up by :func:`configure_sqlite`,
    wait for this process's other writers first (see the module docstring); elsewhere,
    nothing.

    The wait is bounded by the busy timeout; after it the transaction goes ahead and
    SQLite's own busy handling decides, so a stuck writer still ends in "database is
    locked" rather than a hang.
    """
    entry = _writer_locks.get(bind if isinstance(bind, sa.Engine) else bind.engine)
    if entry is None:
        yield
        return
    lock, timeout = entry
    acquired = lock.acquire(timeout=timeout)
    try:
        yield
    finally:
        if acquired:
            lock.release()


def max_length(column: sa.ColumnElement[Any]) -> int | None:
    """The length of a string column (``String(80)`` → 80), or None when unbounded."""
    length = getattr(column.type, "length", None)
    return length if isinstance(length, int) else None


def fit(column: sa.ColumnElement[Any], value: str | None) -> str | None:
    """``value`` as ``column`` can store it: without NUL characters and at most the
    column's length.

    For text from outside that is kept for display (Avarda's customer details, a
    caller's headers): PostgreSQL refuses the whole transaction for a value too long or
    containing NUL, so one odd detail would otherwise lose the write it belongs to.
    Cutting loses the tail of such a detail.
    """
    if value is None:
        return None
    length = max_length(column)
    value = value.replace("\x00", "")
    return value[:length] if length else value


def private_sqlite_file(url: str) -> None:
    """An SQLite database file readable by its owner only (0600): created so before SQLite
    opens it, or tightened if an earlier version left it readable by others; its
    directory is created 0700. Other databases are left alone.

    SQLite creates ``-wal`` and ``-shm`` with the database file's mode, so they follow;
    existing ones are tightened too. The databases hold customers' details, the sandbox's
    merchants' callback credentials, and admins' password hashes.
    """
    parsed = sa.engine.make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return
    if name.startswith("file:") or parsed.query.get("mode") == "memory":
        return
    path = Path(name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", 0o600)
