"""Unit-test fixtures: a migrated shop database (SQLite per test, or PostgreSQL) and a
fake Avarda installed in the app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from shop import create_app, setup_database
from shop.extensions import db
from shop.orders.gateway import set_avarda_client
from tests.support import postgres_database
from tests.unit.fakes import FakeAvarda

CALLBACK_USER = "avarda"
CALLBACK_PASSWORD = "s3cret-callback-password"
JWT_SECRET = "a-jwt-secret-that-is-at-least-32-bytes-long!"


def base_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "AVARDA_BASE_URL": "http://127.0.0.1:9/CheckOut2",
        "AVARDA_SITE_CODE": "unit",
        "AVARDA_SITE_PASSWORD": "unit-password",
        "CALLBACK_USERNAME": CALLBACK_USER,
        "CALLBACK_PASSWORD": CALLBACK_PASSWORD,
        "ADMIN_EMAIL": "admin@example.com",
        "ADMIN_PASSWORD": "admin-password",
        **overrides,
    }


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """Each test using this runs on a fresh SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        with postgres_database() as url:
            yield url


def make_app(database_url: str, **overrides: Any) -> tuple[Flask, FakeAvarda]:
    app = create_app(base_config(database_url, **overrides))
    fake = FakeAvarda()
    set_avarda_client(app, fake)
    with app.app_context():
        setup_database()
    return app, fake


@pytest.fixture
def shop(database_url) -> Iterator[tuple[Flask, FakeAvarda]]:
    """(app, fake Avarda) on each database, inside an app context."""
    app, fake = make_app(database_url)
    with app.app_context():
        yield app, fake
        db.session.remove()
    with app.app_context():
        db.engine.dispose()
