"""Issue 7 items 6-8 with the real shop and the real sandbox over HTTP (or, for answers
the sandbox never gives, a stub Avarda over HTTP): the delivery address, answers that
need a person, and a purchase replaced while its customer was at the card step."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from shop import create_app as create_shop
from shop import setup_database
from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client
from shop.extensions import db as shop_db
from shop.models import Order, OrderEvent, OutboxEmail
from shop.orders.checkout import CheckoutSession, begin_checkout
from tests.integration.conftest import CALLBACK_PATH, Credentials, shop_test_config

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


def sandbox_post(stack, purchase_id: str, action: str, body: dict[str, Any]) -> dict:
    url = f"{stack.sandbox_url}/CheckOut2/Sandbox/Api/Purchases/{purchase_id}/{action}"
    response = requests.post(url, json=body, auth=stack.credentials.sandbox_admin, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def callback(shop_url: str, credentials: Credentials, purchase_id: str) -> requests.Response:
    return requests.post(
        shop_url + CALLBACK_PATH,
        json={"purchaseId": purchase_id},
        auth=(credentials.callback_username, credentials.callback_password),
        timeout=10,
    )


def order_row(app, **where: Any) -> Order:
    with app.app_context():
        query = sa.select(Order).filter_by(**where).options(selectinload(Order.lines))
        order = shop_db.session.scalars(query).one()
        shop_db.session.expunge(order)
        shop_db.session.remove()
    return order


def event_outcomes(app, order_id: int) -> list[str]:
    with app.app_context():
        rows = shop_db.session.scalars(
            sa.select(OrderEvent.outcome).where(OrderEvent.order_id == order_id)
        ).all()
        shop_db.session.remove()
    return list(rows)


def checkout(app, lines: list[tuple[str, int]], token: str | None) -> CheckoutSession:
    with app.app_context():
        ids = [(get_product_by_sku(shop_db.session(), sku).id, qty) for sku, qty in lines]
        return begin_checkout(shop_db.session(), avarda_client(), ids, token)


def test_the_delivery_address_reaches_the_order_page_and_the_email(stack):
    session = stack.checkout(("MUG-01", 1))
    sandbox_post(
        stack,
        session.purchase_id,
        "Complete",
        {"PaymentMethod": "Invoice", "PurchaseCompletedCallbackUrl": stack.shop_url + CALLBACK_PATH,
         **DELIVERY},
    )  # fmt: skip
    stack.deliver_until_done(session.purchase_id)

    order = order_row(stack.shop_app, token=session.order_token)
    assert order.state == "paid" and order.confirmed_by == "callback"
    assert (order.delivery_first_name, order.delivery_city) == ("Bo", "Göteborg")
    assert (order.customer_first_name, order.customer_city) == ("Anna", "Stockholm")
    page = stack.order_page(session.order_token)
    delivery = page.split("data-delivery-address>")[1].split("</dd>")[0]
    assert "Bo Berg" in delivery and "41301 Göteborg" in delivery
    with stack.shop_app.app_context():
        body = shop_db.session.scalars(
            sa.select(OutboxEmail.body).where(OutboxEmail.order_id == order.id)
        ).one()
        shop_db.session.remove()
    assert "We will deliver to:\n  Bo Berg\n  Lillgatan 2\n  41301 Göteborg\n" in body


def test_a_replaced_purchase_completing_at_the_card_step_is_held_not_lost(stack):
    first = checkout(stack.shop_app, [("MUG-01", 1)], None)
    sandbox_post(stack, first.purchase_id, "Complete", {"PaymentMethod": "Card", "Step": "wait"})
    assert stack.purchase(first.purchase_id)["State"] == 6  # WaitingForCardPayments

    # In another tab the customer changes the cart: Avarda refuses to update the purchase.
    second = checkout(stack.shop_app, [("TEE-01", 1)], first.order_token)
    assert second.purchase_id != first.purchase_id

    # The card step succeeds anyway and the first tab comes back through callbackUrl.
    sandbox_post(stack, first.purchase_id, "Step", {"Decision": "approve"})
    sandbox_post(stack, first.purchase_id, "Resume", {})
    assert stack.purchase(first.purchase_id)["State"] == 2
    response = callback(stack.shop_url, stack.credentials, first.purchase_id)

    assert response.status_code == 200, response.text  # a decision: Avarda stops retrying
    held = order_row(stack.shop_app, purchase_id=first.purchase_id)
    assert held.state == "on_hold" and held.replaced_by_number == second.order_number
    assert second.order_number in (held.hold_reason or "")
    assert [line.sku for line in held.lines] == ["MUG-01"]
    assert order_row(stack.shop_app, purchase_id=second.purchase_id).state == "pending"


def test_a_purchase_the_sandbox_does_not_know_needs_attention_once(stack):
    session = stack.checkout(("MUG-01", 1))
    lost = "0123456789abcdef" * 2
    with stack.shop_app.app_context():
        shop_db.session.execute(
            sa.update(Order).where(Order.token == session.order_token).values(purchase_id=lost)
        )
        shop_db.session.commit()
        shop_db.session.remove()

    answers = [callback(stack.shop_url, stack.credentials, lost) for _ in range(3)]

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
def stub_avarda_shop(httpserver, tmp_path, live_server):
    """The real shop over HTTP, with a stub Avarda (pytest-httpserver) behind it."""
    credentials = Credentials.generate()
    config = shop_test_config(
        f"sqlite:///{tmp_path / 'shop.db'}", httpserver.url_for("/CheckOut2"), credentials
    )
    app = create_shop(config)
    with app.app_context():
        setup_database()
    url = live_server(app)
    app.config["SHOP_PUBLIC_URL"] = url
    yield app, url, credentials
    with app.app_context():
        shop_db.session.remove()
        shop_db.engine.dispose()


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
    app, url, credentials = stub_avarda_shop
    purchase_id = "c0ffee" + "0" * 26
    httpserver.expect_request("/CheckOut2/CheckOut2Api/InitializePayment").respond_with_json(
        purchase_id
    )
    session = checkout(app, [("MUG-01", 1)], None)
    httpserver.expect_request("/CheckOut2/CheckOut2Api/GetPaymentStatus").respond_with_json(
        {"PurchaseId": purchase_id, "OrderReference": session.order_number, **status}
    )

    first, second = (callback(url, credentials, purchase_id) for _ in range(2))

    assert (first.status_code, second.status_code) == (503, 503)
    assert first.headers["Retry-After"] and first.json()["error"] == "needs_attention"
    order = order_row(app, purchase_id=purchase_id)
    assert order.state == "pending" and problem in (order.avarda_problem or "")
    assert event_outcomes(app, order.id) == ["attention", "attention_again"]
