"""The same sandbox on PostgreSQL: row locks and SKIP LOCKED claims (needs TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import threading

import pytest

from tests.harness import postgres_database, wait_until
from tests.integration.sandbox.support import SITE_CODE, cart

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_sandbox(make_sandbox):
    with postgres_database() as url:
        yield make_sandbox(SQLALCHEMY_DATABASE_URI=url)


def test_api_completion_and_concurrent_delivery_on_postgres(pg_sandbox, receiver):
    sandbox = pg_sandbox
    ids = []
    for _ in range(8):
        purchase_id = sandbox.initialize("99.90")
        body = sandbox.complete(
            purchase_id, PurchaseCompletedCallbackUrl=f"{receiver.url}/callback"
        )
        assert body["State"] == 2 and sandbox.status(purchase_id)["Price"] == body["Price"]
        ids.append(purchase_id)
    commerce = sandbox.api(
        "Commerce/PurchaseOrder",
        {"ExternalId": ids[0], "OrderReference": "o-1", "Items": [{"Amount": "9.90"}]},
    )
    assert commerce.status_code == 200
    queue = sandbox.api("GetPaymentStatusQueue", {"PurchaseId": ids[0]}).json()
    assert queue == ids[1:]

    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(sandbox.deliver())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(counts) == 8
    sent = sorted(json.loads(hit["body"])["purchaseId"] for hit in receiver.hits())
    assert sent == sorted(ids)


def test_an_idle_worker_is_woken_by_notify_on_postgres(pg_sandbox, receiver):
    """On PostgreSQL the commit of a delivery NOTIFYs the worker (its poll: a minute)."""
    with pg_sandbox.worker(poll_interval=60) as idle:
        assert idle.wait(10)
        purchase_id = pg_sandbox.initialize()
        pg_sandbox.complete(purchase_id, PurchaseCompletedCallbackUrl=f"{receiver.url}/callback")
        wait_until(receiver.hits, timeout=20, message="sent before the next poll")
    assert [json.loads(hit["body"]) for hit in receiver.hits()] == [{"purchaseId": purchase_id}]


def test_values_longer_than_their_columns_are_400_not_500_on_postgres(pg_sandbox):
    """PostgreSQL enforces VARCHAR lengths (SQLite does not): validation must match them."""
    sandbox = pg_sandbox
    before = sandbox.settings()
    too_long = [
        {"callback_authorization": {"scheme": "Basic", "username": "u" * 201, "password": "p"}},
        {"callback_allowed_origins": ["https://" + "h" * 300]},
    ]
    for body in too_long:
        response = sandbox.admin("PUT", f"Merchants/{SITE_CODE}", json=body)
        assert response.status_code == 400, body
    assert sandbox.settings() == before
    longest = {"scheme": "Basic", "username": "u" * 200, "password": "p" * 2000}
    assert sandbox.settings(callback_authorization=longest)["callback_authorization"] == {
        "scheme": "Basic",
        "username": "u" * 200,
        "password": "***",
    }
    spaced = ("1" + " " * 6) * 14 + "1"  # 15 digits in 99 characters
    purchase_id = sandbox.initialize(
        Mail="m" * 48 + "@example.com", Phone=spaced, Description="d" * 4000
    )
    assert sandbox.status(purchase_id)["Phone"] == spaced
    response = sandbox.api("InitializePayment", cart() | {"Phone": "1" * 16})
    assert response.status_code == 400
