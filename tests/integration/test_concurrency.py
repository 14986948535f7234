"""The same callback five times at once plus two done-page hits, against the shop under
gunicorn with several worker processes: exactly one paid transition, one stock
decrement, one e-mail. On SQLite (BEGIN IMMEDIATE) and PostgreSQL (FOR UPDATE)."""

from __future__ import annotations

import os
import threading

import pytest
import requests

from shop import create_app as create_shop
from shop import setup_database
from shop.extensions import db as shop_db
from tests.integration.conftest import Stack, shop_test_config
from tests.support import free_port, gunicorn


@pytest.fixture
def gunicorn_stack(shop_database_url, sandbox_url, credentials, run_delivery, tmp_path):
    avarda = sandbox_url + "/CheckOut2"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    local = create_shop(shop_test_config(shop_database_url, avarda, credentials))
    with local.app_context():
        setup_database()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "TEST_DATABASE_URL")
        },
        **credentials.shop_settings(),
        "DATABASE_URL": shop_database_url,
        "AVARDA_BASE_URL": avarda,
        "SHOP_PUBLIC_URL": url,
        "SECRET_KEY": "gunicorn-test-secret",
        "AVARDA_STATUS_TIMEOUT": "5",
    }
    server = gunicorn("wsgi:app", port, env, tmp_path / "shop.log", workers=4)
    try:
        yield Stack(local, url, sandbox_url, credentials, run_delivery)
    finally:
        server.stop()
        with local.app_context():
            shop_db.engine.dispose()


@pytest.mark.parametrize("shop_database_url", ["sqlite", "postgresql"], indirect=True)
def test_five_callbacks_and_two_browsers_at_once_pay_once(gunicorn_stack):
    stack = gunicorn_stack
    stack.merchant(callback_copies=5)
    before = stack.stock("LAMP-01")
    session = stack.checkout(("LAMP-01", 2))
    stack.complete(session.purchase_id)
    assert len(stack.deliveries(session.purchase_id)) == 5

    start = threading.Barrier(7)
    problems: list[BaseException] = []
    pages: list[requests.Response] = []

    def deliver() -> None:
        start.wait(10)
        stack.run_delivery()

    def browse() -> None:
        start.wait(10)
        pages.append(stack.done(session.purchase_id))

    def guarded(target):
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 - reported below
                problems.append(exc)

        return run

    threads = [threading.Thread(target=guarded(deliver)) for _ in range(5)]
    threads += [threading.Thread(target=guarded(browse)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not problems, problems

    deliveries = stack.deliver_until_done(session.purchase_id)
    assert [d["status"] for d in deliveries] == ["delivered"] * 5
    # Every copy is answered 200 at its first attempt: the lock serialises them; without
    # it, the losers would hit the outbox's unique constraint and answer 503.
    assert [[a["status_code"] for a in d["attempts"]] for d in deliveries] == [[200]] * 5
    assert [p.status_code for p in pages] == [200, 200]

    facts = stack.facts(session.order_token)
    assert facts["state"] == "paid"
    assert [outcome for _, outcome in facts["events"]].count("paid") == 1
    assert len(facts["events"]) >= 7
    assert facts["emails"] == 1
    assert stack.stock("LAMP-01") == before - 2
