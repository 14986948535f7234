"""Flask extensions, created unbound here and bound to the app in ``create_app``.

The SQLite settings live here too: every connection gets WAL, a busy timeout and
foreign keys (the pysqlite recipe from SQLAlchemy's documentation). A transaction
opened by :func:`shop.orders.transactions.write_transaction` starts with ``BEGIN
IMMEDIATE``, so that two writers queue on the database lock instead of failing half-way
with "database is locked"; every other transaction is a plain deferred ``BEGIN``, a
read that in WAL mode blocks nobody. The caveat: every write must go through
``write_transaction`` (a write in a deferred transaction can fail at once when another
writer got there first), and no service keeps a write transaction open across a
network call.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from shop.models import Base

SQLITE_BUSY_TIMEOUT_MS = 15_000
#: Execution option that makes a SQLite transaction begin with ``BEGIN IMMEDIATE``.
IMMEDIATE = "shop_sqlite_begin_immediate"


# Objects keep their values after a commit: a view can show what a service just
# wrote without starting another transaction (which on SQLite takes the write lock).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def configure_sqlite(engine: sa.Engine) -> None:
    """Install the WAL / busy-timeout / BEGIN IMMEDIATE recipe on a SQLite engine."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite; the "begin" hook below owns it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
