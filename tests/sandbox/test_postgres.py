"""The same sandbox on PostgreSQL: row locks and SKIP LOCKED claims (needs TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import threading

import pytest

from tests.support import postgres_database

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
        {"ExternalId": ids[0], "TranId": "t", "Items": [{"Amount": "9.90"}]},
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
