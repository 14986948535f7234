"""In-process shops for tests that need no server, on databases that cost milliseconds.

Migrating a database takes about a second (Alembic loads every revision), and hundreds of
tests need a fresh one. So the first shop database of a session is set up by the shop itself
(``setup_database``: migrations, then the demo catalogue and admin) and every later one is a
copy: a file copy for SQLite, ``CREATE DATABASE … TEMPLATE`` for PostgreSQL.
:func:`make_shop_app` knows those copies and skips setting them up again.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from tests.harness.postgres import postgres_database, server_url
from tests.harness.settings import shop_config

if TYPE_CHECKING:
    from flask import Flask

T = TypeVar("T")

#: Settings that setup_database writes into the database (the seeded admin).
SEEDED = frozenset({"ADMIN_EMAIL", "ADMIN_PASSWORD"})

_prepared: set[str] = set()
_sqlite_template: Path | None = None
_postgres_templates: dict[str, str] = {}


def make_shop_app(database_url: str, **overrides: Any) -> Flask:
    """An in-process shop on ``database_url``, migrated and seeded (the demo catalogue and
    admin); its Avarda is unreachable unless ``AVARDA_BASE_URL`` says otherwise.

    A database from :func:`shop_database` is already set up and is used as it is.
    """
    from shop import create_app, setup_database
    from shop.extensions import db

    app = create_app(shop_config(database_url, **overrides))
    if database_url not in _prepared or SEEDED & overrides.keys():
        with app.app_context():
            setup_database()
            db.session.remove()
    return app


def close_app(app: Flask) -> None:
    """Let go of the app's database connections (a test's teardown)."""
    from shop.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def in_app(app: Flask, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` inside the app's context, for reading or changing the database."""
    from shop.extensions import db

    with app.app_context():
        try:
            return fn(*args)
        finally:
            db.session.remove()


def sqlite_shop_database(directory: Path, name: str = "shop.db") -> str:
    """A set-up shop database in a new SQLite file in ``directory``; returns its URL."""
    global _sqlite_template
    if _sqlite_template is None:
        templates = Path(tempfile.mkdtemp(prefix="shop-tests-"))
        atexit.register(shutil.rmtree, templates, True)
        template = templates / "template.db"
        close_app(make_shop_app(f"sqlite:///{template}"))
        _sqlite_template = template
    path = directory / name
    if path.exists():
        raise FileExistsError(path)
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    _prepared.add(url)
    return url


@contextmanager
def shop_database(kind: str, directory: Path) -> Iterator[str]:
    """A fresh, set-up shop database: ``kind`` "sqlite" (a file in ``directory``) or
    "postgresql" (on :func:`~tests.harness.postgres.server_url`'s server, dropped after)."""
    if kind == "sqlite":
        yield sqlite_shop_database(directory)
    elif kind == "postgresql":
        admin_url = server_url()
        with postgres_database(admin_url, template=_postgres_template(admin_url)) as url:
            _prepared.add(url)
            try:
                yield url
            finally:
                _prepared.discard(url)
    else:
        raise ValueError(f"unknown database {kind!r}")


def _postgres_template(admin_url: str) -> str:
    name = _postgres_templates.get(admin_url)
    if name is None:
        name = "tmpl_" + uuid.uuid4().hex[:16]
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        _postgres_templates[admin_url] = name
        url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        close_app(make_shop_app(url))
    return name


def drop_templates() -> None:
    """Drop the PostgreSQL template databases (at the end of the test session)."""
    while _postgres_templates:
        admin_url, name = _postgres_templates.popitem()
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
