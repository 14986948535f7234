"""What an outside attack found in the shop (issue 10), re-tried through the test client:
the admin login's ``next``, caching of admin pages, request size, a busy database."""

from __future__ import annotations

import functools
import sqlite3
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import pytest

from common.db import configure_sqlite
from shop.extensions import db
from tests.harness import AuthActions, CartActions, close_app, in_app, make_shop_app

#: ``next`` values that must never leave the admin area (each was, or is, a way out).
HOSTILE_NEXT = [
    "//evil.example",
    "////evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "%2F%2Fevil.example",
    "/%5C%5Cevil.example",
    "/%5Cevil.example",
    "https://evil.example",
    "http:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\x00/evil.example",
    "//evil.example@localhost/admin/",
    "evil.example",
    "/../../evil.example",
    "/catalog",
    "",
]
#: ``next`` values that stay: admin pages with their query.
FRIENDLY_NEXT = ["/admin/", "/admin/orders?state=paid&page=2", "/admin/outbox"]


def login_with_next(client, target: str):
    return client.post(
        "/admin/login",
        query_string={"next": target},
        data={"email": "admin@example.com", "password": "admin-password"},
    )


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leaves_the_admin_area(app, target):
    with app.test_client() as client:
        response = login_with_next(client, target)
        assert response.status_code == 303
        location = response.headers["Location"]
        resolved = urlsplit(urljoin("http://localhost/admin/login", location))
        assert resolved.netloc == "localhost" and resolved.scheme == "http"
        assert location == "/admin/", repr(target)


@pytest.mark.parametrize("target", FRIENDLY_NEXT)
def test_next_keeps_admin_pages(app, target):
    with app.test_client() as client:
        assert login_with_next(client, target).headers["Location"] == target


def test_admin_pages_are_never_cached(client, auth):
    assert "no-store" in client.get("/admin/login").headers["Cache-Control"]
    auth.login()
    for path in ("/admin/", "/admin/orders", "/admin/outbox", "/admin/products"):
        response = client.get(path)
        assert response.status_code in {200, 302}, path
        assert "no-store" in response.headers["Cache-Control"], path
    assert client.get("/admin/orders").status_code == 200
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


def test_request_bodies_are_limited(client):
    big = b"x" * (2 * 1024 * 1024)
    for path in ("/admin/login", "/cart/add", "/avarda/purchase-completed"):
        for content_type in ("application/x-www-form-urlencoded", "application/json"):
            response = client.post(path, data=big, content_type=content_type)
            assert response.status_code == 413, (path, content_type)


@contextmanager
def database_locked(path):
    """Another process holds the SQLite database locked: every connection of the shop
    waits its (shortened) busy timeout and gives up."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("UPDATE product SET stock = stock")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/products/MUG-01",
        "/cart",
        "/checkout",
        "/checkout/done?purchaseId=" + "a" * 32,
        "/orders/" + "t" * 32,
        "/admin/orders",
    ],
)
def test_a_busy_database_is_503_with_retry_after_never_500(tmp_path, monkeypatch, path):
    configure = functools.partial(configure_sqlite, busy_timeout_ms=200)
    monkeypatch.setattr("shop.factory.configure_sqlite", configure)
    db_path = tmp_path / "shop.db"
    app = make_shop_app(f"sqlite:///{db_path}", WTF_CSRF_ENABLED=False)
    try:
        with app.test_client() as client:
            CartActions(client).add("MUG-01")
            AuthActions(client).login()
            in_app(app, lambda: db.engine.dispose())
            with database_locked(db_path):
                page = client.get(path, headers={"Accept": "text/html"})
                assert page.status_code == 503, page.data[:300]
                assert int(page.headers["Retry-After"]) > 0
                assert b"busy" in page.data and b"Traceback" not in page.data
                api = client.get(path, headers={"Accept": "application/json"})
                assert api.status_code == 503 and api.json["status"] == 503
            assert client.get(path).status_code in {200, 302, 303, 404}
    finally:
        close_app(app)
