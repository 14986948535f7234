"""A hanging Avarda cannot starve the shop (issue 10): 24 callbacks with Avarda not
answering kept threads 5 s each and ``/healthz`` waited 4 s. Now each process makes at
most ``AVARDA_MAX_CONCURRENT_CALLS`` calls at a time, and the callback waits neither for
a free slot nor long for the status (``AVARDA_CALLBACK_STATUS_TIMEOUT``): it answers 503
at once, and Avarda retries."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from shop.extensions import db
from shop.models import Order
from tests.harness import CALLBACK_PASSWORD, CALLBACK_USERNAME, close_app, make_shop_app

PURCHASE = "d" * 32


@pytest.fixture
def hanging_avarda() -> Iterator[str]:
    """An "Avarda" that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/CheckOut2"
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def shop_url(tmp_path, hanging_avarda, live_server) -> Iterator[str]:
    app = make_shop_app(
        f"sqlite:///{tmp_path / 'shop.db'}",
        AVARDA_BASE_URL=hanging_avarda,
        AVARDA_STATUS_TIMEOUT=5.0,
        AVARDA_CALLBACK_STATUS_TIMEOUT=1.0,
        AVARDA_MAX_CONCURRENT_CALLS=4,
    )
    with app.app_context():
        db.session.add(
            Order(
                number="261201-PENDING",
                token="p" * 32,
                state="pending",
                total_minor=14900,
                vat_minor=2980,
                purchase_id=PURCHASE,
                cart_fingerprint="f" * 64,
            )
        )
        db.session.commit()
    yield live_server(app)
    close_app(app)


def test_callbacks_answer_503_at_once_while_avarda_hangs(shop_url):
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    start = threading.Barrier(24)

    def callback() -> None:
        start.wait(10)
        began = time.monotonic()
        response = requests.post(
            shop_url + "/avarda/purchase-completed",
            json={"purchaseId": PURCHASE},
            auth=(CALLBACK_USERNAME, CALLBACK_PASSWORD),
            timeout=15,
        )
        with lock:
            results.append((response.status_code, time.monotonic() - began))

    threads = [threading.Thread(target=callback) for _ in range(24)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # let the first callbacks take the slots
    began = time.monotonic()
    assert requests.get(shop_url + "/healthz", timeout=5).status_code == 200
    health_seconds = time.monotonic() - began
    for thread in threads:
        thread.join(30)

    assert [status for status, _ in results] == [503] * 24
    slowest = max(seconds for _, seconds in results)
    assert slowest < 4, results  # the callback's short status timeout, not 5 s, and no queue
    quick = [seconds for _, seconds in results if seconds < 0.9]
    assert len(quick) >= 24 - 4 - 4, results  # no free slot: 503 without waiting
    assert health_seconds < 1
