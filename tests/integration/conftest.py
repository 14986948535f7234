"""Integration fixtures: the real shop and the real sandbox, each on its own socket.

The shop talks to the sandbox over HTTP exactly as it would talk to Avarda's stage
environment, and the sandbox's callback worker posts to the shop over HTTP.
Reusable by every integration and storefront test:

- ``sandbox_app`` / ``sandbox_url``: the sandbox (fresh SQLite) served on a free port;
  ``sandbox_url`` is its root (the Avarda base URL is ``sandbox_url + "/CheckOut2"``).
- ``shop_app`` / ``shop_url``: the shop (fresh database, migrated and seeded) served on
  a free port, with ``AVARDA_BASE_URL`` pointing at the sandbox and ``SHOP_PUBLIC_URL``
  its own URL. Its database is SQLite unless the test parametrizes
  ``shop_database_url`` indirectly with ``"postgresql"``.
- ``run_delivery()``: run the sandbox's callback worker once (every due delivery),
  returns the number of attempts.
- ``stack``: all of the above plus helpers (scripted customer, merchant settings,
  order status) in one object.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from shop import create_app as create_shop
from shop import setup_database
from shop.extensions import db as shop_db
from shop.models import Order, OrderEvent, OutboxEmail, Product
from shop.orders.catalog import get_product_by_sku
from shop.orders.checkout import CheckoutSession, begin_checkout
from tests.support import postgres_database, wait_until

CALLBACK_PATH = "/avarda/purchase-completed"

#: Retries every few milliseconds, so a test never waits for Avarda's real schedule.
FAST_MERCHANT = {
    "retry_schedule_ms": [0, 5, 10, 20, 40],
    "retry_every_ms": 50,
    "max_attempts": 30,
    "first_attempt_delay_ms": 0,
}


@dataclass(frozen=True)
class Credentials:
    site_code: str
    site_password: str
    callback_username: str
    callback_password: str
    sandbox_admin: tuple[str, str]

    @classmethod
    def generate(cls) -> Credentials:
        return cls(
            site_code="it-" + secrets.token_hex(3),
            site_password=secrets.token_urlsafe(16),
            callback_username="avarda",
            callback_password=secrets.token_urlsafe(16),
            sandbox_admin=("sandbox", secrets.token_urlsafe(12)),
        )

    def shop_settings(self) -> dict[str, str]:
        """The settings both apps share, under the names of the shared contract."""
        return {
            "AVARDA_SITE_CODE": self.site_code,
            "AVARDA_SITE_PASSWORD": self.site_password,
            "CALLBACK_USERNAME": self.callback_username,
            "CALLBACK_PASSWORD": self.callback_password,
        }


@pytest.fixture
def credentials() -> Credentials:
    return Credentials.generate()


@pytest.fixture
def sandbox_app(tmp_path, credentials) -> Iterator[Flask]:
    from sandbox import create_app as create_sandbox
    from sandbox import init_db
    from sandbox.db import db as sandbox_db

    app = create_sandbox(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_hex(16),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'sandbox.db'}",
            "SANDBOX_ADMIN_USERNAME": credentials.sandbox_admin[0],
            "SANDBOX_ADMIN_PASSWORD": credentials.sandbox_admin[1],
            "SHOP_PUBLIC_URL": "http://127.0.0.1",
            "SANDBOX_DELIVERY_CONNECT_TIMEOUT": 2.0,
            "SANDBOX_DELIVERY_READ_TIMEOUT": 10.0,
            "SANDBOX_DELIVERY_LEASE_SECONDS": 30.0,
            **credentials.shop_settings(),
        }
    )
    with app.app_context():
        init_db()
    yield app
    with app.app_context():
        sandbox_db.engine.dispose()


@pytest.fixture
def sandbox_url(sandbox_app, live_server, credentials) -> str:
    url = live_server(sandbox_app)
    response = requests.put(
        f"{url}/CheckOut2/Sandbox/Api/Merchants/{credentials.site_code}",
        json=FAST_MERCHANT,
        auth=credentials.sandbox_admin,
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return url


@pytest.fixture(params=["sqlite"])
def shop_database_url(request, tmp_path) -> Iterator[str]:
    """SQLite by default; parametrize indirectly with "postgresql" for PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        with postgres_database() as url:
            yield url


def shop_test_config(
    database_url: str, avarda_base_url: str, credentials: Credentials, **overrides: Any
) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": secrets.token_hex(16),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "AVARDA_BASE_URL": avarda_base_url,
        "AVARDA_TIMEOUT": 5.0,
        "AVARDA_STATUS_TIMEOUT": 3.0,
        "ADMIN_EMAIL": "admin@example.com",
        "ADMIN_PASSWORD": "admin-password",
        "RECONCILE_MIN_AGE": 0.0,
        **credentials.shop_settings(),
        **overrides,
    }


@pytest.fixture
def shop_app(shop_database_url, sandbox_url, credentials) -> Iterator[Flask]:
    app = create_shop(shop_test_config(shop_database_url, sandbox_url + "/CheckOut2", credentials))
    with app.app_context():
        setup_database()
    yield app
    with app.app_context():
        shop_db.session.remove()
        shop_db.engine.dispose()


@pytest.fixture
def shop_url(shop_app, live_server) -> str:
    url = live_server(shop_app)
    shop_app.config["SHOP_PUBLIC_URL"] = url
    return url


@pytest.fixture
def run_delivery(sandbox_app) -> Callable[[], int]:
    """``run_delivery() -> attempts``: the sandbox's worker, one pass, in this thread."""
    from sandbox.delivery import deliver_due

    def run() -> int:
        with sandbox_app.app_context():
            return deliver_due()

    return run


class Stack:
    """The shop and the sandbox of one test, and the things a test does with them."""

    def __init__(self, shop_app, shop_url, sandbox_url, credentials, run_delivery) -> None:
        self.shop_app = shop_app
        self.shop_url = shop_url
        self.sandbox_url = sandbox_url
        self.credentials = credentials
        self.run_delivery = run_delivery

    # -- sandbox -------------------------------------------------------------------------
    def merchant(self, **settings: Any) -> dict:
        url = f"{self.sandbox_url}/CheckOut2/Sandbox/Api/Merchants/{self.credentials.site_code}"
        response = requests.put(url, json=settings, auth=self.credentials.sandbox_admin, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def purchase(self, purchase_id: str) -> dict:
        url = f"{self.sandbox_url}/CheckOut2/Sandbox/Api/Purchases/{purchase_id}"
        response = requests.get(url, auth=self.credentials.sandbox_admin, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def complete(self, purchase_id: str, method: str = "Invoice", callback: bool = True) -> dict:
        """The scripted customer finishes the form (with or without subscribing to the
        server-side callback, as the shop's ``init`` call would)."""
        body: dict[str, Any] = {"PaymentMethod": method}
        if callback:
            body["PurchaseCompletedCallbackUrl"] = self.shop_url + CALLBACK_PATH
        url = f"{self.sandbox_url}/CheckOut2/Sandbox/Api/Purchases/{purchase_id}/Complete"
        response = requests.post(url, json=body, auth=self.credentials.sandbox_admin, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def deliveries(self, purchase_id: str) -> list[dict]:
        return self.purchase(purchase_id)["deliveries"]

    def deliver_until_done(self, purchase_id: str, timeout: float = 15) -> list[dict]:
        """Run the worker until every delivery of the purchase is finished."""

        def finished() -> list[dict] | None:
            self.run_delivery()
            rows = self.deliveries(purchase_id)
            return rows if rows and all(d["status"] != "pending" for d in rows) else None

        return wait_until(finished, timeout=timeout, message="deliveries finished")

    # -- shop ----------------------------------------------------------------------------
    def checkout(self, *lines: tuple[str, int]) -> CheckoutSession:
        """Start a checkout with the shop's own service (it calls the sandbox over HTTP)."""
        with self.shop_app.app_context():
            ids = [(get_product_by_sku(sku).id, qty) for sku, qty in lines or [("MUG-01", 1)]]
            return begin_checkout(ids, None)

    def done(self, purchase_id: str) -> requests.Response:
        """The browser returning to the shop (``done`` in ``init``)."""
        return requests.get(
            f"{self.shop_url}/checkout/done", params={"purchaseId": purchase_id}, timeout=10
        )

    def status(self, token: str) -> dict:
        response = requests.get(f"{self.shop_url}/orders/{token}/status", timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def order_page(self, token: str) -> str:
        response = requests.get(f"{self.shop_url}/orders/{token}", timeout=5)
        assert response.status_code == 200
        return response.text

    def facts(self, token: str) -> dict[str, Any]:
        """What the shop's database says about an order, read directly."""
        with self.shop_app.app_context():
            order = shop_db.session.scalars(sa.select(Order).where(Order.token == token)).one()
            events = shop_db.session.scalars(
                sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
            ).all()
            facts = {
                "state": order.state,
                "confirmed_by": order.confirmed_by,
                "payment_method": order.payment_method,
                "customer_email": order.customer_email,
                "events": [(e.path, e.outcome) for e in events],
                "emails": shop_db.session.scalar(
                    sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.order_id == order.id)
                ),
            }
            shop_db.session.remove()
        return facts

    def stock(self, sku: str) -> int:
        with self.shop_app.app_context():
            value = shop_db.session.scalar(sa.select(Product.stock).where(Product.sku == sku))
            shop_db.session.remove()
        return value


@pytest.fixture
def stack(shop_app, shop_url, sandbox_url, credentials, run_delivery) -> Stack:
    return Stack(shop_app, shop_url, sandbox_url, credentials, run_delivery)
