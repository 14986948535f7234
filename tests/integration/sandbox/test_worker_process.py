"""The worker as its own process: ``kill -9`` mid-delivery loses nothing."""

from __future__ import annotations

import json
import os
import sys

from tests.harness import Process, wait_until


def worker_env(db_path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SANDBOX_DATABASE_URL=f"sqlite:///{db_path}",
        SANDBOX_DELIVERY_CONNECT_TIMEOUT="0.5",
        SANDBOX_DELIVERY_READ_TIMEOUT="1",
        SANDBOX_DELIVERY_LEASE_SECONDS="2",
        SANDBOX_SECRET_KEY="worker-test",
    )
    return env


def worker(db_path, log) -> Process:
    args = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi:sandbox",
        "deliver",
        "--poll-interval",
        "0.05",
    ]
    return Process(args, worker_env(db_path), log).start()


def test_a_killed_worker_loses_no_delivery(make_sandbox, receiver, tmp_path):
    db_path = tmp_path / "shared.db"
    sandbox = make_sandbox(db_path=db_path)
    receiver.script = ["block"]  # the first request hangs until released
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, PurchaseCompletedCallbackUrl=f"{receiver.url}/callback")

    first = worker(db_path, tmp_path / "worker1.log")
    try:
        wait_until(lambda: len(receiver.hits()) == 1, timeout=15, message="first request")
        first.kill()  # SIGKILL to the whole process group, mid-request
    finally:
        first.stop()
    receiver.release()
    [delivery] = sandbox.purchase(purchase_id)["deliveries"]
    assert delivery["status"] == "pending"
    assert [a["outcome"] for a in delivery["attempts"]] == ["sending"]

    second = worker(db_path, tmp_path / "worker2.log")
    try:

        def delivered():
            return sandbox.purchase(purchase_id)["deliveries"][0]["status"] == "delivered"

        wait_until(delivered, timeout=15, message="delivered by the second worker")
    finally:
        second.stop()
    [delivery] = sandbox.purchase(purchase_id)["deliveries"]
    outcomes = [(a["outcome"], a["error"]) for a in delivery["attempts"]]
    assert outcomes == [("failed", "LeaseExpired"), ("delivered", None)]
    bodies = [json.loads(hit["body"]) for hit in receiver.hits()]
    assert bodies == [{"purchaseId": purchase_id}] * 2
    assert "Traceback" not in second.output()
