"""Helpers for tests that drive the shop through the Flask test client, in the style of the
Flask tutorial's ``AuthActions``: a customer's cart and an admin's sign-in through the real
forms, and readers for what a page says.

CSRF is off in the test config (``WTF_CSRF_ENABLED=False``) unless a test turns it on to
prove it is enforced.
"""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.harness.settings import ADMIN_EMAIL, ADMIN_PASSWORD


def text(response: TestResponse | str) -> str:
    """The page as text with tags dropped and whitespace collapsed, for wording checks."""
    page = response if isinstance(response, str) else response.get_data(as_text=True)
    body = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
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
