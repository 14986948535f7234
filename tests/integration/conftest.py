"""Integration fixtures: the real shop and the real sandbox, over HTTP.

- ``stack``: a :class:`~tests.harness.Stack` with the shop and the sandbox running under
  gunicorn from the Procfile, fresh databases (a reset of a stack kept running for the
  session), fast callback retries. It runs on SQLite; parametrize ``database`` indirectly
  (``BOTH_DATABASES``) to run on PostgreSQL too. Workers a test starts
  (``stack.start("delivery")``) are stopped after it.
- ``app``: a shop in this process on a fresh database (SQLite, or ``database``), no
  sockets, Avarda unreachable, CSRF off; a module that needs the live stack overrides it
  with ``stack.shop_app``.
- ``client``, ``runner``, ``cart``, ``auth``: the Flask tutorial's fixtures on ``app``.

The sandbox's own tests (``sandbox/``) add theirs in ``sandbox/conftest.py``: a sandbox on a
live server and a callback receiver; they use none of the above.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.harness import (
    JWT_SECRET,
    SITE_CODE,
    AuthActions,
    CartActions,
    Stack,
    StackPool,
    close_app,
    make_shop_app,
    shop_database,
)

#: Callbacks retried within milliseconds, so a test never waits for Avarda's real schedule.
FAST_CALLBACKS = {
    "retry_schedule_ms": [0, 5, 10, 20, 40],
    "retry_every_ms": 50,
    "max_attempts": 30,
    "first_attempt_delay_ms": 0,
}

SETTINGS = {
    "AVARDA_TIMEOUT": 5.0,
    "AVARDA_STATUS_TIMEOUT": 5.0,
    "RECONCILE_MIN_AGE": 0.0,
    "CALLBACK_JWT_SECRET": JWT_SECRET,
    "SANDBOX_MERCHANTS": [{"site_code": SITE_CODE, **FAST_CALLBACKS}],
    "SANDBOX_DELIVERY_CONNECT_TIMEOUT": 2.0,
    "SANDBOX_DELIVERY_READ_TIMEOUT": 10.0,
    "SANDBOX_DELIVERY_LEASE_SECONDS": 30.0,
}
WEB = ("shop", "sandbox")


@pytest.fixture(params=["sqlite"])
def database(request: pytest.FixtureRequest) -> str:
    """The shop's database for ``stack``: "sqlite", or "postgresql" when parametrized."""
    return request.param


@pytest.fixture
def stack(stacks: StackPool, database: str) -> Iterator[Stack]:
    stack = stacks.get(database, **SETTINGS)
    stack.reset()
    stack.start(*WEB)
    yield stack
    stack.stop(*[name for name in stack.running() if name not in WEB])


@pytest.fixture
def app(database: str, tmp_path) -> Iterator[Flask]:
    with shop_database(database, tmp_path) as url:
        app = make_shop_app(url, WTF_CSRF_ENABLED=False)
        yield app
        close_app(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def cart(client: FlaskClient) -> CartActions:
    return CartActions(client)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)
