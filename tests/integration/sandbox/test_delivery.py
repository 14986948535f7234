"""The callback delivery worker against a programmable receiver on a real socket."""

from __future__ import annotations

import base64
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from tests.harness import wait_until
from tests.integration.sandbox.support import CALLBACK_AUTH


def completed_purchase(sandbox, url: str) -> str:
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, PurchaseCompletedCallbackUrl=url)
    return purchase_id


def deliveries(sandbox, purchase_id):
    return sandbox.purchase(purchase_id)["deliveries"]


def test_delivers_json_with_the_static_authorization_header(sandbox, receiver, caplog):
    caplog.set_level(logging.INFO)
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback?shop=1")
    assert sandbox.deliver() == 1
    [hit] = receiver.hits()
    assert hit["method"] == "POST" and hit["query"] == "shop=1"
    assert json.loads(hit["body"]) == {"purchaseId": purchase_id}
    assert hit["headers"]["Content-Type"] == "application/json"
    expected = base64.b64encode(":".join(CALLBACK_AUTH).encode()).decode()
    assert hit["headers"]["Authorization"] == f"Basic {expected}"
    [delivery] = deliveries(sandbox, purchase_id)
    assert delivery["status"] == "delivered" and delivery["attempt_count"] == 1
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 200 and attempt["outcome"] == "delivered"
    assert attempt["error"] is None and attempt["latency_ms"] >= 0 and attempt["at"]
    secret_parts = (CALLBACK_AUTH[1], expected)
    assert not any(s in json.dumps(delivery) for s in secret_parts)
    logged = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("sandbox"))
    assert "callback delivery" in logged
    assert not any(s in logged for s in secret_parts)
    assert "shop=1" not in logged  # query strings are not logged
    assert sandbox.deliver() == 0
    assert len(receiver.hits()) == 1


def test_an_idle_worker_is_woken_by_the_commit_of_a_delivery(sandbox, receiver):
    """The worker sends a new callback as soon as its purchase completes, not at its next
    poll (a minute here: the deadline below is far shorter)."""
    with sandbox.worker(poll_interval=60) as idle:
        assert idle.wait(10)
        purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
        wait_until(receiver.hits, timeout=20, message="sent before the next poll")
    assert [json.loads(hit["body"]) for hit in receiver.hits()] == [{"purchaseId": purchase_id}]
    assert deliveries(sandbox, purchase_id)[0]["status"] == "delivered"


def test_senders_send_callbacks_at_once(sandbox, receiver):
    """With two senders, a shop slow to answer one callback does not hold up the next."""
    from sandbox.delivery import deliver_due

    receiver.script = ["block", "block"]
    ids = [completed_purchase(sandbox, f"{receiver.url}/callback") for _ in range(3)]
    made: list[int] = []

    def deliver(senders: ThreadPoolExecutor) -> None:
        with sandbox.app.app_context():
            made.append(deliver_due(senders, 2))

    with ThreadPoolExecutor(2) as senders:
        thread = threading.Thread(target=deliver, args=(senders,))
        thread.start()
        wait_until(lambda: len(receiver.hits()) == 2, timeout=10, message="two in flight")
        receiver.release()
        thread.join(30)
    assert made == [3]
    sent = sorted(json.loads(hit["body"])["purchaseId"] for hit in receiver.hits())
    assert sent == sorted(ids)
    assert all(deliveries(sandbox, pid)[0]["status"] == "delivered" for pid in ids)


def test_bearer_and_no_authorization(sandbox, receiver):
    sandbox.settings(callback_authorization={"scheme": "Bearer", "token": "long-lived.jwt"})
    completed_purchase(sandbox, f"{receiver.url}/callback")
    sandbox.deliver()
    sandbox.settings(callback_authorization={"scheme": "None"})
    completed_purchase(sandbox, f"{receiver.url}/callback")
    sandbox.deliver()
    first, second = receiver.hits()
    assert first["headers"]["Authorization"] == "Bearer long-lived.jwt"
    assert "Authorization" not in second["headers"]


def test_fails_then_succeeds_on_5xx_and_4xx(sandbox, receiver):
    receiver.script = [500, 404, 503]
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
    [delivery] = sandbox.deliver_until(purchase_id, "delivered")
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 404, 503, 200]
    assert [a["outcome"] for a in delivery["attempts"]] == ["failed"] * 3 + ["delivered"]
    assert all(a["error"] == "UnexpectedStatus" for a in delivery["attempts"][:3])
    bodies = {hit["body"] for hit in receiver.hits()}
    assert bodies == {json.dumps({"purchaseId": purchase_id})}  # the same body every time


def test_redirects_are_not_followed(sandbox, receiver):
    receiver.script = [("redirect", f"{receiver.url}/elsewhere")]
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
    assert sandbox.deliver() == 1
    assert receiver.hits("/elsewhere") == []
    [attempt] = deliveries(sandbox, purchase_id)[0]["attempts"]
    assert (attempt["status_code"], attempt["error"]) == (302, "RedirectNotFollowed")
    [delivery] = sandbox.deliver_until(purchase_id, "delivered")
    assert len(receiver.hits()) == 2 and receiver.hits("/elsewhere") == []


def test_read_timeout_and_refused_connection_are_recorded_and_retried(make_sandbox, receiver):
    sandbox = make_sandbox(SANDBOX_DELIVERY_READ_TIMEOUT=0.3)
    receiver.script = ["block"]
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
    assert sandbox.deliver() == 1
    [attempt] = deliveries(sandbox, purchase_id)[0]["attempts"]
    assert (attempt["outcome"], attempt["error"], attempt["status_code"]) == (
        "failed",
        "ReadTimeout",
        None,
    )
    sandbox.deliver_until(purchase_id, "delivered")

    from tests.harness import free_port

    closed_origin = f"http://127.0.0.1:{free_port()}"
    sandbox.settings(callback_allowed_origins=[closed_origin])
    closed = completed_purchase(sandbox, f"{closed_origin}/callback")
    sandbox.deliver()
    [attempt] = deliveries(sandbox, closed)[0]["attempts"]
    assert attempt["error"] == "ConnectionError" and attempt["outcome"] == "failed"


def test_schedule_in_milliseconds_is_followed(sandbox, receiver):
    sandbox.settings(retry_schedule_ms=[0, 400], retry_every_ms=0, max_attempts=3)
    receiver.default = 500
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
    assert sandbox.deliver() == 1
    [delivery] = deliveries(sandbox, purchase_id)
    first = datetime.fromisoformat(delivery["attempts"][0]["at"])
    due = datetime.fromisoformat(delivery["next_attempt_at"])
    assert due - first >= timedelta(milliseconds=400)
    sandbox.deliver_until(purchase_id, "exhausted")
    attempts = deliveries(sandbox, purchase_id)[0]["attempts"]
    second, third = (datetime.fromisoformat(a["at"]) for a in attempts[1:])
    assert second >= due
    assert len(attempts) == 3 and third >= second


def test_first_attempt_delay_holds_the_first_attempt_back(sandbox, receiver):
    sandbox.settings(first_attempt_delay_ms=60_000)
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
    assert sandbox.deliver() == 0
    [delivery] = deliveries(sandbox, purchase_id)
    created = datetime.fromisoformat(sandbox.purchase(purchase_id)["Completed"])
    assert datetime.fromisoformat(delivery["next_attempt_at"]) - created >= timedelta(minutes=1)
    assert receiver.hits() == []


def test_exhausted_deliveries_stay_visible_and_can_be_redelivered(sandbox, receiver):
    receiver.default = 500
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
    [delivery] = sandbox.deliver_until(purchase_id, "exhausted")
    assert delivery["attempt_count"] == 4  # FAST_MERCHANT max_attempts
    assert sandbox.deliver() == 0
    pending = sandbox.admin("POST", f"Deliveries/{delivery['id']}/Redeliver")
    assert pending.status_code == 200 and pending.json()["status"] == "pending"
    again = sandbox.admin("POST", f"Deliveries/{delivery['id']}/Redeliver")
    assert again.status_code == 409
    receiver.default = 204
    [delivery] = sandbox.deliver_until(purchase_id, "delivered")
    assert delivery["attempt_count"] == 5
    assert sandbox.admin("POST", "Deliveries/999999/Redeliver").status_code == 404


def test_origins_outside_the_allowlist_are_refused_never_fetched(sandbox, receiver):
    port = urlsplit(receiver.url).port
    inside = completed_purchase(sandbox, f"{receiver.url}/callback")
    sandbox.settings(callback_allowed_origins=[f"http://localhost:{port}"])
    assert sandbox.deliver() == 1
    [delivery] = deliveries(sandbox, inside)
    assert delivery["status"] == "refused"
    [attempt] = delivery["attempts"]
    assert (attempt["outcome"], attempt["error"]) == ("refused", "OriginNotAllowed")
    assert receiver.requests == []
    sandbox.settings(callback_allowed_origins=[receiver.origin])
    sandbox.admin("POST", f"Deliveries/{delivery['id']}/Redeliver")
    sandbox.deliver_until(inside, "delivered")


def test_duplicates_and_injected_failures(sandbox, receiver):
    sandbox.settings(callback_copies=3, fail_first_attempts=2)
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
    rows = sandbox.deliver_until(purchase_id, "delivered")
    assert len(rows) == 3
    for row in rows:
        assert [a["error"] for a in row["attempts"]] == ["InjectedFailure"] * 2 + [None]
    assert len(receiver.hits()) == 3  # injected failures never reach the network
    assert {hit["body"] for hit in receiver.hits()} == {json.dumps({"purchaseId": purchase_id})}


def test_concurrent_workers_never_send_the_same_delivery_twice(sandbox, receiver):
    ids = [completed_purchase(sandbox, f"{receiver.url}/callback") for _ in range(12)]
    errors: list[BaseException] = []
    counts: list[int] = []

    def work():
        try:
            counts.append(sandbox.deliver())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sum(counts) == 12
    sent = sorted(json.loads(hit["body"])["purchaseId"] for hit in receiver.hits())
    assert sent == sorted(ids)


def test_a_header_that_cannot_be_sent_is_a_failed_attempt_retried_until_exhausted(
    sandbox, receiver, caplog
):
    """A stored token the validation would refuse today (older data, a manual edit) must
    still end as recorded failures, not an attempt stuck in "sending"."""
    import sqlalchemy as sa

    from sandbox.db import transaction
    from sandbox.models import Merchant

    caplog.set_level(logging.INFO)
    secret = "токен-tajny"
    with sandbox.app.app_context(), transaction() as session:
        session.execute(
            sa.update(Merchant).values(callback_auth_scheme="Bearer", callback_auth_secret=secret)
        )
    purchase_id = completed_purchase(sandbox, f"{receiver.url}/callback")
    [delivery] = sandbox.deliver_until(purchase_id, "exhausted")
    assert delivery["attempt_count"] == 4  # FAST_MERCHANT max_attempts
    assert [(a["outcome"], a["error"]) for a in delivery["attempts"]] == [
        ("failed", "UnicodeEncodeError")
    ] * 4
    assert receiver.hits() == []
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "error=UnicodeEncodeError" in logged
    assert secret not in logged and secret not in json.dumps(delivery)
