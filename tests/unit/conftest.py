"""Unit-test fixtures: a migrated shop database (SQLite per test, or PostgreSQL) and a
fake Avarda installed in the app. Unit tests open no sockets: what needs a server lives in
``tests/integration/``."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from shop.extensions import db
from tests.harness import shop_database
from tests.unit.fakes import FakeAvarda, make_app


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """Each test using this runs on a fresh SQLite file and on a fresh PostgreSQL database,
    both migrated and seeded (copies of one set up per session)."""
    with shop_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def shop(database_url) -> Iterator[tuple[Flask, FakeAvarda]]:
    """(app, fake Avarda) on each database, inside an app context."""
    app, fake = make_app(database_url)
    with app.app_context():
        yield app, fake
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests open no network sockets: a test that needs a server (even a stub, even a
    refused connection) belongs in ``tests/integration/``. PostgreSQL's driver (libpq)
    connects below Python and is not affected."""
    connect, bind = socket.socket.connect, socket.socket.bind

    def guard(original: Callable[..., Any]) -> Callable[..., Any]:
        def refuse(self: socket.socket, *args: object) -> object:
            if self.family in (socket.AF_INET, socket.AF_INET6):
                raise RuntimeError(
                    "unit tests open no sockets: move this test to tests/integration/"
                )
            return original(self, *args)

        return refuse

    monkeypatch.setattr(socket.socket, "connect", guard(connect))
    monkeypatch.setattr(socket.socket, "bind", guard(bind))
