"""Helpers for the storefront tests, in the style of the Flask tutorial's ``AuthActions``.

``CartActions`` and ``AuthActions`` drive a Flask test client the way a customer and
an admin do (POST forms, follow redirects); CSRF is off in the test config unless a
test turns it on to prove it is enforced. ``Storefront`` bundles a migrated shop
(SQLite file under ``tmp_path``) with those helpers; ``with_sandbox`` wires the shop
to a real sandbox over HTTP, each on its own socket.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shop import create_app, setup_database
from shop.extensions import db

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password"
SITE_CODE = "storefront-site"
SITE_PASSWORD = "storefront-site-password"
CALLBACK_AUTH = ("avarda", "storefront-callback-password")
SANDBOX_ADMIN = ("sandbox-admin", "sandbox-admin-password")


def shop_config(db_path: Path, **overrides: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "storefront-test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "WTF_CSRF_ENABLED": False,
        # A closed port: any test that reaches Avarda without a sandbox fails loudly.
        "AVARDA_BASE_URL": "http://127.0.0.1:9/CheckOut2",
        "AVARDA_SITE_CODE": SITE_CODE,
        "AVARDA_SITE_PASSWORD": SITE_PASSWORD,
        "AVARDA_TIMEOUT": 3.0,
        "AVARDA_STATUS_TIMEOUT": 2.0,
        "CALLBACK_USERNAME": CALLBACK_AUTH[0],
        "CALLBACK_PASSWORD": CALLBACK_AUTH[1],
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        **overrides,
    }


def make_shop(db_path: Path, **overrides: Any) -> Flask:
    """A shop with its schema migrated and the demo catalogue and admin seeded."""
    app = create_app(shop_config(db_path, **overrides))
    with app.app_context():
        setup_database()
    return app


def dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def text(response: TestResponse) -> str:
    """The page as text with tags dropped and whitespace collapsed, for wording checks."""
    body = re.sub(r"<script\b.*?</script>", " ", response.get_data(as_text=True), flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html.unescape(body)).strip()


def flashes(response: TestResponse) -> list[str]:
    page = response.get_data(as_text=True)
    return [
        re.sub(r"\s+", " ", html.unescape(m)).strip()
        for m in re.findall(r'<li class="flash[^"]*">(.*?)</li>', page, flags=re.S)
    ]


def csrf_token_from(response: TestResponse) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match, "the page has a CSRF token"
    return match.group(1)


class CartActions:
    """The customer's cart, driven through the real forms."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def add(self, sku: str, quantity: int | str = 1, follow: bool = True) -> TestResponse:
        return self._client.post(
            "/cart/add", data={"sku": sku, "quantity": str(quantity)}, follow_redirects=follow
        )

    def update(self, sku: str, quantity: int | str, follow: bool = True) -> TestResponse:
        return self._client.post(
            "/cart/update", data={"sku": sku, "quantity": str(quantity)}, follow_redirects=follow
        )

    def remove(self, sku: str, follow: bool = True) -> TestResponse:
        return self._client.post("/cart/remove", data={"sku": sku}, follow_redirects=follow)

    def page(self) -> TestResponse:
        return self._client.get("/cart")

    def lines(self) -> list[list[Any]]:
        """What the session holds, as ``[[sku, quantity], …]``."""
        with self._client.session_transaction() as session:
            return [list(line) for line in session.get("cart", [])]

    def order_token(self) -> str | None:
        with self._client.session_transaction() as session:
            return session.get("order_token")


class AuthActions:
    """Admin sign-in and sign-out through the login form."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(
        self, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD, next_url: str = ""
    ) -> TestResponse:
        url = "/admin/login" + (f"?next={next_url}" if next_url else "")
        return self._client.post(url, data={"email": email, "password": password})

    def logout(self) -> TestResponse:
        return self._client.post("/admin/logout")


@dataclass
class Storefront:
    """A shop app with a customer's test client and the tutorial-style helpers."""

    app: Flask
    client: FlaskClient = field(init=False)
    cart: CartActions = field(init=False)
    auth: AuthActions = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.app.test_client()
        self.cart = CartActions(self.client)
        self.auth = AuthActions(self.client)

    def fresh_client(self) -> FlaskClient:
        """Another browser: no cookies shared with :attr:`client`."""
        return self.app.test_client()

    def query(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` in an app context (for reading the database)."""
        with self.app.app_context():
            try:
                return fn(*args)
            finally:
                db.session.remove()


@dataclass
class LiveStack:
    """A shop and a real sandbox, each on its own socket, talking over HTTP.

    The shop's customer is still the Flask test client (cookies, CSRF off); the
    sandbox reaches the shop's callback endpoint over the shop's real socket.
    """

    shop: Storefront
    shop_url: str
    sandbox_app: Flask
    sandbox_url: str

    @property
    def avarda_base(self) -> str:
        return self.sandbox_url + "/CheckOut2"

    def sandbox_admin(self, verb: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            verb,
            f"{self.avarda_base}/Sandbox/Api/{path}",
            auth=SANDBOX_ADMIN,
            timeout=10,
            **kwargs,
        )

    def complete(self, purchase_id: str, method: str = "Invoice", **body: Any) -> dict[str, Any]:
        """The scripted customer clicks Complete purchase in Avarda's form."""
        response = self.sandbox_admin(
            "POST", f"Purchases/{purchase_id}/Complete", json={"PaymentMethod": method, **body}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def purchase(self, purchase_id: str) -> dict[str, Any]:
        response = self.sandbox_admin("GET", f"Purchases/{purchase_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def deliver(self) -> int:
        """Run the sandbox's callback worker once (sends every due callback)."""
        from sandbox.delivery import deliver_due

        with self.sandbox_app.app_context():
            return deliver_due()


def start_stack(live_server: Any, tmp_path: Path, **shop_overrides: Any) -> LiveStack:
    """Sandbox first (the shop needs its URL), then the shop; both file-backed SQLite."""
    from sandbox import create_app as create_sandbox
    from sandbox import init_db

    sandbox_app = create_sandbox(
        {
            "TESTING": True,
            "SECRET_KEY": "storefront-sandbox-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'sandbox.db'}",
            "AVARDA_SITE_CODE": SITE_CODE,
            "AVARDA_SITE_PASSWORD": SITE_PASSWORD,
            "CALLBACK_USERNAME": CALLBACK_AUTH[0],
            "CALLBACK_PASSWORD": CALLBACK_AUTH[1],
            "SANDBOX_ADMIN_USERNAME": SANDBOX_ADMIN[0],
            "SANDBOX_ADMIN_PASSWORD": SANDBOX_ADMIN[1],
            # Only the host matters for the callback allow-list; the shop's port is not
            # known yet.
            "SHOP_PUBLIC_URL": "http://127.0.0.1:9",
            "SANDBOX_MERCHANTS": [
                {
                    "site_code": SITE_CODE,
                    "retry_schedule_ms": [0, 20, 20],
                    "retry_every_ms": 20,
                    "max_attempts": 4,
                }
            ],
            "SANDBOX_DELIVERY_CONNECT_TIMEOUT": 1.0,
            "SANDBOX_DELIVERY_READ_TIMEOUT": 5.0,
        }
    )
    with sandbox_app.app_context():
        init_db()
    sandbox_url = live_server(sandbox_app)
    app = make_shop(
        tmp_path / "shop.db", AVARDA_BASE_URL=sandbox_url + "/CheckOut2", **shop_overrides
    )
    shop_url = live_server(app)
    app.config["SHOP_PUBLIC_URL"] = shop_url
    return LiveStack(Storefront(app), shop_url, sandbox_app, sandbox_url)


def stop_stack(stack: LiveStack) -> None:
    from sandbox.db import db as sandbox_db

    dispose(stack.shop.app)
    with stack.sandbox_app.app_context():
        sandbox_db.session.remove()
        sandbox_db.engine.dispose()
