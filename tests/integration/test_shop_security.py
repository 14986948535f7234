"""What an outside attack found in the shop (issue 10), re-tried through the test client:
the admin login's ``next``, caching of admin pages, request size, a busy database."""

from __future__ import annotations

import functools
import sqlite3
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa

from common.db import configure_sqlite
from shop import create_app
from shop.extensions import db
from shop.models import AdminUser
from tests.harness import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AuthActions,
    CartActions,
    close_app,
    in_app,
    make_shop_app,
    shop_config,
)

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


# --- sign-in throttling and sessions ---------------------------------------------------


def sign_in(client, password: str, email: str = ADMIN_EMAIL, address: str = "127.0.0.1"):
    return client.post(
        "/admin/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_sign_ins_are_throttled_per_account_across_workers(tmp_path):
    """Two apps on one database stand for two gunicorn workers (or two hosts)."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    first = make_shop_app(url, WTF_CSRF_ENABLED=False)
    second = create_app(shop_config(url, WTF_CSRF_ENABLED=False))
    try:
        for attempt in range(5):
            worker = (first, second)[attempt % 2]
            wrong = sign_in(worker.test_client(), f"guess-{attempt}", address=f"10.0.0.{attempt}")
            assert wrong.status_code == 401
        for worker in (first, second):
            with worker.test_client() as client:
                blocked = sign_in(client, ADMIN_PASSWORD, address="10.9.9.9")
                assert blocked.status_code == 429
                assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
                assert b"Too many failed sign-ins" in blocked.data
                assert client.get("/admin/orders").status_code == 302  # not signed in
    finally:
        close_app(first)
        close_app(second)


def test_sign_ins_are_throttled_per_address(client):
    for attempt in range(5):
        wrong = sign_in(client, "x", email=f"nobody{attempt}@example.com", address="10.1.1.1")
        assert wrong.status_code == 401
    assert sign_in(client, ADMIN_PASSWORD, address="10.1.1.1").status_code == 429
    assert sign_in(client, ADMIN_PASSWORD, address="10.1.1.2").status_code == 303


def test_a_successful_sign_in_starts_the_count_again(client):
    for _ in range(2):
        for _ in range(4):
            assert sign_in(client, "wrong").status_code == 401
        assert sign_in(client, ADMIN_PASSWORD).status_code == 303
        client.post("/admin/logout")


def test_logout_ends_every_session_of_the_admin(app):
    laptop, phone, thief = app.test_client(), app.test_client(), app.test_client()
    for device in (laptop, phone):
        assert sign_in(device, ADMIN_PASSWORD).status_code == 303
        assert device.get("/admin/orders").status_code == 200
    copied = laptop.get_cookie("session").value
    laptop.post("/admin/logout")
    thief.set_cookie("session", copied)
    assert thief.get("/admin/orders").status_code == 302
    assert phone.get("/admin/orders").status_code == 302


def test_a_new_password_ends_every_session(app):
    client = app.test_client()
    sign_in(client, ADMIN_PASSWORD)
    assert client.get("/admin/orders").status_code == 200

    def change_password() -> None:
        user = db.session.scalars(sa.select(AdminUser)).one()
        user.set_password("a-new-password-123")
        db.session.commit()

    in_app(app, change_password)
    assert client.get("/admin/orders").status_code == 302
    assert sign_in(client, "a-new-password-123").status_code == 303
    assert client.get("/admin/orders").status_code == 200


def sign_in_via_proxy(client, password: str, client_address: str, email: str = ADMIN_EMAIL):
    """A sign-in as nginx passes it on: from 127.0.0.1, the client in X-Forwarded-For."""
    return client.post(
        "/admin/login",
        data={"email": email, "password": password},
        headers={"X-Forwarded-For": client_address},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )


def test_behind_a_trusted_proxy_each_client_is_throttled_apart(tmp_path):
    app = make_shop_app(
        f"sqlite:///{tmp_path / 'shop.db'}", WTF_CSRF_ENABLED=False, TRUSTED_PROXIES=1
    )
    try:
        client = app.test_client()
        for attempt in range(5):
            wrong = sign_in_via_proxy(
                client, "x", "203.0.113.7", email=f"nobody{attempt}@example.com"
            )
            assert wrong.status_code == 401
        assert sign_in_via_proxy(client, ADMIN_PASSWORD, "203.0.113.7").status_code == 429
        assert sign_in_via_proxy(client, ADMIN_PASSWORD, "198.51.100.2").status_code == 303
    finally:
        close_app(app)


def test_without_trusted_proxies_x_forwarded_for_is_anyones_to_forge_and_ignored(client):
    for attempt in range(5):
        forged = client.post(
            "/admin/login",
            data={"email": f"nobody{attempt}@example.com", "password": "x"},
            headers={"X-Forwarded-For": f"192.0.2.{attempt}"},
            environ_base={"REMOTE_ADDR": "10.2.2.2"},
        )
        assert forged.status_code == 401
    again = client.post(
        "/admin/login",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        headers={"X-Forwarded-For": "192.0.2.99"},
        environ_base={"REMOTE_ADDR": "10.2.2.2"},
    )
    assert again.status_code == 429
