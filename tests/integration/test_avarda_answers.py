"""Issue 7 items 6-8 with the real shop and the real sandbox over HTTP (or, for answers
the sandbox never gives, a stub Avarda over HTTP): the delivery address, answers that
need a person, and a purchase replaced while its customer was at the card step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import selectinload

from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import Order, OrderEvent, OutboxEmail
from shop.orders.checkout import CheckoutSession, begin_checkout
from tests.harness import (
    CALLBACK_PASSWORD,
    CALLBACK_USERNAME,
    Stack,
    close_app,
    make_shop_app,
    sqlite_shop_database,
)

CALLBACK_PATH = "/avarda/purchase-completed"
DELIVERY = {
    "Mail": "anna@example.com",
    "InvoicingFirstName": "Anna",
    "InvoicingLastName": "Andersson",
    "InvoicingAddressLine1": "Storgatan 1",
    "InvoicingZip": "11122",
    "InvoicingCity": "Stockholm",
    "UseDifferentDeliveryAddress": True,
    "DeliveryFirstName": "Bo",
    "DeliveryLastName": "Berg",
    "DeliveryAddressLine1": "Lillgatan 2",
    "DeliveryZip": "41301",
    "DeliveryCity": "Göteborg",
}


def callback(shop_url: str, purchase_id: str) -> requests.Response:
    return requests.post(
        shop_url + CALLBACK_PATH,
        json={"purchaseId": purchase_id},
        auth=(CALLBACK_USERNAME, CALLBACK_PASSWORD),
        timeout=10,
    )


def in_app(app: Flask, fn: Any) -> Any:
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def order_row(app: Flask, **where: Any) -> Order:
    def read() -> Order:
        query = sa.select(Order).filter_by(**where).options(selectinload(Order.lines))
        order = db.session.scalars(query).one()
        db.session.expunge(order)
        return order

    return in_app(app, read)


def event_outcomes(app: Flask, order_id: int) -> list[str]:
    return in_app(
        app,
        lambda: list(
            db.session.scalars(
                sa.select(OrderEvent.outcome)
                .where(OrderEvent.order_id == order_id)
                .order_by(OrderEvent.id)
            )
        ),
    )


def checkout(app: Flask, lines: list[tuple[str, int]], token: str | None) -> CheckoutSession:
    def begin() -> CheckoutSession:
        ids = [(get_product_by_sku(db.session(), sku).id, qty) for sku, qty in lines]
        return begin_checkout(db.session(), avarda_client(), ids, token)

    return in_app(app, begin)


def sandbox(stack: Stack, purchase_id: str, action: str, body: dict[str, Any]) -> None:
    response = stack.sandbox_api("POST", f"Purchases/{purchase_id}/{action}", json=body)
    assert response.status_code == 200, response.text


def test_the_delivery_address_reaches_the_order_page_and_the_email(stack):
    session = checkout(stack.shop_app, [("MUG-01", 1)], None)
    stack.complete(session.purchase_id, "Invoice", **DELIVERY)
    stack.deliver_until_done(session.purchase_id)

    order = order_row(stack.shop_app, token=session.order_token)
    assert order.state == "paid" and order.confirmed_by == "callback"
    assert (order.delivery_first_name, order.delivery_city) == ("Bo", "Göteborg")
    assert (order.customer_first_name, order.customer_city) == ("Anna", "Stockholm")
    page = stack.order_page(session.order_token)
    delivery = page.split("data-delivery-address>")[1].split("</dd>")[0]
    assert "Bo Berg" in delivery and "41301 Göteborg" in delivery
    body = in_app(
        stack.shop_app,
        lambda: db.session.scalars(
            sa.select(OutboxEmail.body).where(OutboxEmail.order_id == order.id)
        ).one(),
    )
    assert "We will deliver to:\n  Bo Berg\n  Lillgatan 2\n  41301 Göteborg\n" in body


def test_a_replaced_purchase_completing_at_the_card_step_is_held_not_lost(stack):
    first = checkout(stack.shop_app, [("MUG-01", 1)], None)
    stack.complete(first.purchase_id, "Card", callback=False, Step="wait")
    assert stack.purchase(first.purchase_id)["State"] == 6  # WaitingForCardPayments

    # In another tab the customer changes the cart: Avarda refuses to update the purchase.
    second = checkout(stack.shop_app, [("TEE-01", 1)], first.order_token)
    assert second.purchase_id != first.purchase_id

    # The card step succeeds anyway and the first tab comes back through callbackUrl.
    sandbox(stack, first.purchase_id, "Step", {"Decision": "approve"})
    sandbox(stack, first.purchase_id, "Resume", {})
    assert stack.purchase(first.purchase_id)["State"] == 2
    response = callback(stack.shop_url, first.purchase_id)

    assert response.status_code == 200, response.text  # a decision: Avarda stops retrying
    held = order_row(stack.shop_app, purchase_id=first.purchase_id)
    assert held.state == "on_hold" and held.replaced_by_number == second.order_number
    assert second.order_number in (held.hold_reason or "")
    assert [line.sku for line in held.lines] == ["MUG-01"]
    assert order_row(stack.shop_app, purchase_id=second.purchase_id).state == "pending"


def test_a_purchase_the_sandbox_does_not_know_needs_attention_once(stack):
    session = checkout(stack.shop_app, [("MUG-01", 1)], None)
    lost = "0123456789abcdef" * 2

    def repoint() -> None:
        db.session.execute(
            sa.update(Order).where(Order.token == session.order_token).values(purchase_id=lost)
        )
        db.session.commit()

    in_app(stack.shop_app, repoint)

    answers = [callback(stack.shop_url, lost) for _ in range(3)]

    assert {r.status_code for r in answers} == {503}
    assert answers[0].json()["error"] == "needs_attention"
    order = order_row(stack.shop_app, purchase_id=lost)
    assert order.state == "pending"
    assert (order.avarda_problem or "").startswith("Avarda refuses to report this purchase")
    assert event_outcomes(stack.shop_app, order.id) == [
        "attention",
        "attention_again",
        "attention_again",
    ]


@pytest.fixture
def stub_avarda_shop(httpserver, tmp_path, live_server) -> Iterator[tuple[Flask, str]]:
    """The real shop over HTTP, with a stub Avarda (pytest-httpserver) behind it."""
    url = sqlite_shop_database(tmp_path)
    app = make_shop_app(url, AVARDA_BASE_URL=httpserver.url_for("/CheckOut2"))
    shop_url = live_server(app)
    app.config["SHOP_PUBLIC_URL"] = shop_url
    yield app, shop_url
    close_app(app)


@pytest.mark.parametrize(
    "status, problem",
    [
        ({"State": "12", "PaymentMethod": 0}, "State 12"),
        ({"State": 2, "PaymentMethod": "10", "Price": "149.00"}, "Method 10"),
    ],
)
def test_an_unknown_state_or_method_over_http_is_503_and_recorded(
    stub_avarda_shop, httpserver, status, problem
):
    app, shop_url = stub_avarda_shop
    purchase_id = "c0ffee" + "0" * 26
    httpserver.expect_request("/CheckOut2/CheckOut2Api/InitializePayment").respond_with_json(
        purchase_id
    )
    session = checkout(app, [("MUG-01", 1)], None)
    httpserver.expect_request("/CheckOut2/CheckOut2Api/GetPaymentStatus").respond_with_json(
        {"PurchaseId": purchase_id, "OrderReference": session.order_number, **status}
    )

    first, second = (callback(shop_url, purchase_id) for _ in range(2))

    assert (first.status_code, second.status_code) == (503, 503)
    assert first.headers["Retry-After"] and first.json()["error"] == "needs_attention"
    order = order_row(app, purchase_id=purchase_id)
    assert order.state == "pending" and problem in (order.avarda_problem or "")
    assert event_outcomes(app, order.id) == ["attention", "attention_again"]
