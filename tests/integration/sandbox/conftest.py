"""Fixtures for the sandbox's own tests: a sandbox on a real socket with a file-backed
SQLite database under tmp_path, and a programmable receiver for server-side callbacks.
The helpers they return live in :mod:`tests.integration.sandbox.support`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from sandbox import create_app, init_db, merchants
from sandbox.db import db
from tests.integration.sandbox.support import (  # noqa: F401 - names tests imported from here before
    ADMIN,
    CALLBACK_AUTH,
    FAST_MERCHANT,
    SITE_CODE,
    SITE_PASSWORD,
    UNREACHABLE,
    Receiver,
    Sandbox,
    base_config,
    cart,
)


@pytest.fixture
def make_sandbox(tmp_path: Path, live_server, receiver) -> Iterator[Callable[..., Sandbox]]:
    """``make_sandbox(**config overrides) -> Sandbox`` (each with its own database file).

    The test merchant's ``callback_allowed_origins`` are the test's receiver and
    :data:`UNREACHABLE` (a shop that never answers), unless ``allow_receiver=False``
    leaves the default (the origin of SHOP_PUBLIC_URL).
    """
    apps: list[Flask] = []
    sessions: list[requests.Session] = []

    def make(allow_receiver: bool = True, **overrides: Any) -> Sandbox:
        db_path = overrides.pop("db_path", tmp_path / f"sandbox{len(apps)}.db")
        app = create_app(base_config(db_path, **overrides))
        with app.app_context():
            init_db()
            if allow_receiver:
                allowed = [receiver.origin, UNREACHABLE]
                merchants.update(SITE_CODE, {"callback_allowed_origins": allowed})
        apps.append(app)
        sandbox = Sandbox(app, live_server(app))
        sessions.append(sandbox.http)
        return sandbox

    yield make
    for session in sessions:
        session.close()
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def sandbox(make_sandbox) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def receiver(live_server) -> Iterator[Receiver]:
    rec = Receiver()
    rec.url = live_server(rec.app())
    yield rec
    rec.release()
