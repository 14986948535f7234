"""The same callback five times at once plus two done-page hits, against the shop under
gunicorn with several worker processes (the Procfile's): exactly one paid transition, one
stock decrement, one e-mail. On SQLite (BEGIN IMMEDIATE) and PostgreSQL (FOR UPDATE)."""

from __future__ import annotations

import threading

import requests

from tests.harness import BOTH_DATABASES


@BOTH_DATABASES
def test_five_callbacks_and_two_browsers_at_once_pay_once(stack):
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
    assert facts["notifications"] >= 7
    assert facts["emails"] == 1
    assert stack.stock("LAMP-01") == before - 2
