"""Helpers for the sandbox's own tests: its test settings, a request body, a client for a
sandbox on a real socket, a programmable receiver for server-side callbacks, and a logged-in
dashboard session. The fixtures that build them are in ``conftest.py``."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from flask import Flask, request

from tests.harness import wait_until

SITE_CODE = "test-site"
SITE_PASSWORD = "site-secret"
ADMIN = ("sandbox-admin", "admin-secret")
CALLBACK_AUTH = ("avarda", "callback-secret")
#: Nothing listens on port 9 (discard): a callback there is refused at once.
UNREACHABLE = "http://127.0.0.1:9"

#: Fast settings for tests: millisecond retries, few attempts.
FAST_MERCHANT = {
    "site_code": SITE_CODE,
    "retry_schedule_ms": [0, 20, 20],
    "retry_every_ms": 20,
    "max_attempts": 4,
}


def base_config(db_path: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "AVARDA_SITE_CODE": SITE_CODE,
        "AVARDA_SITE_PASSWORD": SITE_PASSWORD,
        "CALLBACK_USERNAME": CALLBACK_AUTH[0],
        "CALLBACK_PASSWORD": CALLBACK_AUTH[1],
        "SANDBOX_ADMIN_USERNAME": ADMIN[0],
        "SANDBOX_ADMIN_PASSWORD": ADMIN[1],
        "SHOP_PUBLIC_URL": "http://127.0.0.1:5999",
        "SANDBOX_MERCHANTS": [dict(FAST_MERCHANT)],
        "SANDBOX_DELIVERY_CONNECT_TIMEOUT": 1.0,
        "SANDBOX_DELIVERY_READ_TIMEOUT": 2.0,
        "SANDBOX_DELIVERY_LEASE_SECONDS": 5.0,
    }
    config.update(overrides)
    return config


def cart(price: str = "250.00") -> dict[str, Any]:
    """An InitializePayment body whose two rows add up to ``price``."""
    total = Decimal(price)
    first = (total / 2).quantize(Decimal("0.01"))
    return {
        "Price": str(total),
        "Items": [
            {"Description": "Mug", "Notes": "blue", "Amount": str(first), "TaxCode": "25"},
            {"Description": "Shipping", "Amount": str(total - first), "TaxCode": "25"},
        ],
        "OrderReference": "order-1",
    }


@dataclass
class Sandbox:
    """A running sandbox and shortcuts to its HTTP APIs."""

    app: Flask
    url: str
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def base(self) -> str:
        return f"{self.url}/CheckOut2"

    def api(self, method: str, body: Any, auth: Any = (SITE_CODE, SITE_PASSWORD)):
        return self.http.post(
            f"{self.base}/CheckOut2Api/{method}", json=body, auth=auth, timeout=10
        )

    def admin(self, verb: str, path: str, auth: Any = ADMIN, **kwargs: Any):
        url = f"{self.base}/Sandbox/Api/{path}"
        return self.http.request(verb, url, auth=auth, timeout=10, **kwargs)

    def initialize(self, price: str = "250.00", **extra: Any) -> str:
        response = self.api("InitializePayment", cart(price) | extra)
        assert response.status_code == 200, response.text
        return response.json()

    def status(self, purchase_id: str) -> dict[str, Any]:
        response = self.api("GetPaymentStatus", {"PurchaseId": purchase_id})
        assert response.status_code == 200, response.text
        return response.json()

    def complete(self, purchase_id: str, method: str = "Invoice", **body: Any) -> dict[str, Any]:
        body = {"PaymentMethod": method} | body
        response = self.admin("POST", f"Purchases/{purchase_id}/Complete", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def purchase(self, purchase_id: str) -> dict[str, Any]:
        response = self.admin("GET", f"Purchases/{purchase_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def settings(self, site_code: str = SITE_CODE, **changes: Any) -> dict[str, Any]:
        response = self.admin("PUT", f"Merchants/{site_code}", json=changes)
        assert response.status_code == 200, response.text
        return response.json()

    def deliver(self) -> int:
        from sandbox.delivery import deliver_due

        with self.app.app_context():
            return deliver_due()

    @contextmanager
    def worker(self, poll_interval: float) -> Iterator[threading.Event]:
        """The delivery worker's loop (``flask deliver``) in a thread, as long as the
        block runs; yields an event set each time it goes idle (waits for a commit)."""
        from sandbox.cli import run_worker
        from sandbox.db import CommitWatch, db
        from sandbox.delivery import CHANNEL

        idle, stop = threading.Event(), threading.Event()

        class Watch(CommitWatch):
            def wait(self, timeout: float, stop: threading.Event) -> bool:
                idle.set()
                return super().wait(timeout, stop)

        def work() -> None:
            with self.app.app_context():
                watch = Watch(db.engine, CHANNEL)
                try:
                    run_worker(False, poll_interval, stop, watch)
                finally:
                    watch.close()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        try:
            yield idle
        finally:
            stop.set()
            thread.join(10)

    def deliver_until(self, purchase_id: str, status: str, timeout: float = 10) -> list[dict]:
        """Run the worker (as a test runs it in a thread) until every delivery has ``status``."""

        def done():
            self.deliver()
            rows = self.purchase(purchase_id)["deliveries"]
            return rows if all(row["status"] == status for row in rows) else None

        return wait_until(done, timeout=timeout, message=f"deliveries {status}")


class Receiver:
    """A programmable callback receiver on a real socket.

    ``script`` holds the answers to the next requests in order: an HTTP status code,
    ``("redirect", location)`` or ``"block"`` (hold the request until :meth:`release`).
    When the script is empty it answers ``default``. Every request is recorded as it
    arrives (method, path, headers, body), before any blocking.
    """

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.default: Any = 200
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.url = ""

    def release(self) -> None:
        self._released.set()

    @property
    def origin(self) -> str:
        return self.url  # scheme://host:port, no path

    def app(self) -> Flask:
        app = Flask("receiver")

        @app.route("/<path:path>", methods=["GET", "POST"])
        def receive(path: str):
            with self._lock:
                self.requests.append(
                    {
                        "method": request.method,
                        "path": "/" + path,
                        "query": request.query_string.decode(),
                        "headers": dict(request.headers),
                        "body": request.get_data(as_text=True),
                    }
                )
                action = self.script.pop(0) if self.script else self.default
            if action == "block":
                self._released.wait(30)
                return "", 200
            if isinstance(action, tuple) and action[0] == "redirect":
                return "", 302, {"Location": action[1]}
            return "", action

        return app

    def hits(self, path: str = "/callback") -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path]


def csrf(html: str) -> str:
    """The CSRF token of a dashboard form in ``html``."""
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def login(sandbox: Sandbox) -> requests.Session:
    """A browser-like session logged in to the dashboard as the sandbox admin."""
    browser = requests.Session()
    page = browser.get(f"{sandbox.base}/Sandbox/login", timeout=5)
    response = browser.post(
        f"{sandbox.base}/Sandbox/login",
        data={"csrf_token": csrf(page.text), "username": ADMIN[0], "password": ADMIN[1]},
        timeout=5,
    )
    assert response.status_code == 200 and "Purchases" in response.text
    return browser
