"""Slow clients do not stall the shop (issue 10): the attack sent one header line every
1.5 s on 12 connections and tied up every gunicorn thread, so ``/healthz`` and Avarda's
callback timed out. ``gunicorn.conf.py`` gives the shop threads enough for that; in
production a buffering proxy in front (nginx) takes such clients off gunicorn entirely.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.harness import Stack, wait_until

SLOW_CLIENTS = 12
LINE_EVERY = 1.5


class SlowClient(threading.Thread):
    """Sends a request's header lines one at a time, ``LINE_EVERY`` seconds apart."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.address = (parts.hostname, parts.port)
        self.stop_event = stop
        self.lines_sent = 0

    def run(self) -> None:
        with socket.create_connection(self.address, timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            self.lines_sent = 1
            while not self.stop_event.wait(LINE_EVERY):
                try:
                    sock.sendall(f"X-Slow-{self.lines_sent}: {'a' * 20}\r\n".encode())
                except OSError:
                    return  # the server gave up on us: fine
                self.lines_sent += 1


@pytest.fixture
def slow_clients(stack: Stack) -> Iterator[list[SlowClient]]:
    stop = threading.Event()
    clients = [SlowClient(stack.shop_url, stop) for _ in range(SLOW_CLIENTS)]
    for client in clients:
        client.start()
    wait_until(lambda: all(c.lines_sent >= 2 for c in clients), timeout=10, message="slow")
    yield clients
    stop.set()
    for client in clients:
        client.join(10)


def test_healthz_and_the_callback_answer_while_12_slow_clients_hang_on(stack, slow_clients):
    deadline = time.monotonic() + 3 * LINE_EVERY
    rounds = 0
    while time.monotonic() < deadline:
        health = requests.get(stack.shop_url + "/healthz", timeout=2)
        assert health.status_code == 200
        callback = requests.post(
            stack.callback_url, json={"purchaseId": "f" * 32}, auth=stack.callback_auth, timeout=2
        )
        assert callback.status_code == 404  # authenticated, parsed, no such order: retry
        rounds += 1
    assert rounds >= 3
    assert all(client.is_alive() for client in slow_clients)  # still hanging on
