"""The admin area: sign-in required, and it shows orders, both paths, outbox and stock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, OrderEvent, OrderLine, OutboxEmail, Product
from tests.harness import in_app, text

ADMIN_PAGES = [
    "/admin/",
    "/admin/orders",
    "/admin/outbox",
    "/admin/products",
    "/admin/orders/260101-ABCDEF",
]


def paid_order() -> None:
    """An order paid by the callback, with a duplicate callback and a late browser."""
    at = datetime(2026, 1, 1, 12, 3, 7, tzinfo=UTC)
    mug = db.session.scalars(sa.select(Product).where(Product.sku == "MUG-01")).one()
    order = Order(
        number="260101-ABCDEF",
        token="t" * 32,
        state="paid",
        total_minor=29800,
        vat_minor=5960,
        purchase_id="a" * 32,
        cart_fingerprint="f" * 64,
        payment_method="Invoice",
        customer_email="anna@example.com",
        confirmed_by="callback",
        confirmed_at=at,
        created_at=at - timedelta(minutes=2),
        lines=[
            OrderLine(
                product_id=mug.id,
                sku="MUG-01",
                name="Enamel camp mug",
                quantity=2,
                unit_price_minor=14900,
                vat_percent=25,
                line_total_minor=29800,
                vat_minor=5960,
            )
        ],
        events=[
            OrderEvent(path="callback", at=at, attempt=1, avarda_state="Completed", outcome="paid"),
            OrderEvent(
                path="callback",
                at=at + timedelta(seconds=1),
                attempt=2,
                avarda_state="Completed",
                outcome="duplicate",
            ),
            OrderEvent(
                path="browser",
                at=at + timedelta(seconds=2),
                attempt=1,
                avarda_state="Completed",
                outcome="duplicate",
            ),
        ],
    )
    db.session.add(order)
    db.session.flush()
    db.session.add(
        OutboxEmail(
            order_id=order.id,
            kind="order_confirmation",
            to_address="anna@example.com",
            subject="Your order 260101-ABCDEF is paid",
            body="Thank you!",
        )
    )
    db.session.commit()


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_need_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_wrong_credentials_are_refused_with_one_message(client, auth):
    for email, password in [
        ("admin@example.com", "nope"),
        ("nobody@example.com", "x"),
        ("admin@example.com", "admin-password\u00e9"),
    ]:
        response = auth.login(email, password)
        assert response.status_code == 401
        assert "Wrong e-mail or password." in text(response)
    assert client.get("/admin/").status_code == 302
    response = client.post("/admin/login", data={"email": "", "password": ""})
    assert response.status_code == 400


def test_login_logout_and_the_admin_pages(app, client, auth):
    in_app(app, paid_order)
    response = auth.login(next_url="/admin/outbox")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/outbox"

    response = client.get("/admin/?state=paid")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/orders?state=paid"
    orders = text(client.get("/admin/orders"))
    assert "260101-ABCDEF" in orders
    assert "Paid" in orders and "callback" in orders
    assert "2026-01-01 12:03:07 UTC" in orders

    detail = client.get("/admin/orders/260101-ABCDEF")
    words = text(detail)
    assert "Notifications (3)" in words
    assert "callback (repeat)" in words  # the duplicate callback is listed
    assert "browser" in words and "duplicate" in words
    assert "Your order 260101-ABCDEF is paid" in words
    assert "anna@example.com" in words
    assert client.get("/admin/orders/NOPE").status_code == 404

    outbox = text(client.get("/admin/outbox"))
    assert "Your order 260101-ABCDEF is paid" in outbox and "not yet" in outbox

    products = text(client.get("/admin/products"))
    assert "MUG-01" in products and "149,00 kr" in products and "25 %" in products

    paid_only = text(client.get("/admin/orders?state=paid"))
    assert "260101-ABCDEF" in paid_only
    assert "260101-ABCDEF" not in text(client.get("/admin/orders?state=failed"))

    response = auth.logout()
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_redirects_off_site(auth, target):
    response = auth.login(next_url=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"


def test_logout_needs_a_post(client, auth):
    auth.login()
    assert client.get("/admin/logout").status_code == 405
    assert client.get("/admin/orders").status_code == 200
    response = client.get("/admin/login")
    assert response.status_code == 302  # already signed in
    assert response.headers["Location"] == "/admin/"
