"""The storefront's own JavaScript in a real Chromium: the done page and the order page
follow a pending order until it is paid, and the cart saves a changed quantity."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import expect

from shop.extensions import db
from shop.models import Product
from tests.harness import CartActions, Stack, wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def app(stack: Stack) -> Flask:
    return stack.shop_app


def checkout(client: FlaskClient) -> tuple[str, str]:
    """(order token, purchase id) of a fresh pending order, made through the test client."""
    CartActions(client).add("MUG-01", 1)
    page = client.get("/checkout").get_data(as_text=True)
    token = re.search(r'data-order-token="([^"]+)"', page).group(1)
    purchase_id = re.search(r'purchaseId: "([0-9a-f]{32})"', page).group(1)
    return token, purchase_id


def pay_by_callback(stack: Stack, token: str, purchase_id: str, state: str = "paid") -> None:
    stack.complete(purchase_id, "Invoice")  # subscribing to the callback

    def confirmed() -> bool:
        stack.run_delivery()
        return stack.status(token)["state"] == state

    wait_until(confirmed, timeout=10, message=f"the callback makes the order {state}")


def test_done_page_updates_itself_when_the_callback_pays(stack, client, page):
    token, purchase_id = checkout(client)
    page.goto(f"{stack.shop_url}/checkout/done?purchaseId={purchase_id}")
    expect(page.get_by_text("Confirming your payment…")).to_be_visible()
    assert page.locator("[data-order-token]").first.get_attribute("data-order-token") == token

    pay_by_callback(stack, token, purchase_id)
    expect(page.get_by_text("Payment confirmed")).to_be_visible(timeout=10_000)
    expect(page.get_by_text("Confirming your payment…")).to_have_count(0)


def test_done_page_of_an_order_held_for_stock_stays_neutral(stack, client, page):
    token, purchase_id = checkout(client)
    page.goto(f"{stack.shop_url}/checkout/done?purchaseId={purchase_id}")
    expect(page.get_by_text("Confirming your payment…")).to_be_visible()

    def sell_out() -> None:
        db.session.execute(sa.update(Product).where(Product.sku == "MUG-01").values(stock=0))
        db.session.commit()

    stack.query(sell_out)
    pay_by_callback(stack, token, purchase_id, state="on_hold")
    expect(page.get_by_text("Payment received, order on hold")).to_be_visible(timeout=10_000)
    detail = page.locator(".status-detail")
    expect(detail).to_contain_text("our staff are reviewing the order")
    expect(detail).not_to_contain_text("amount")


def test_order_page_reloads_with_the_story_once_paid(stack, client, page):
    token, purchase_id = checkout(client)
    page.goto(f"{stack.shop_url}/orders/{token}")
    expect(page.get_by_text("Waiting for payment.")).to_be_visible()

    pay_by_callback(stack, token, purchase_id)
    expect(
        page.get_by_text(re.compile(r"Paid\. Confirmed by Avarda's server-side callback at"))
    ).to_be_visible(timeout=10_000)
    expect(page.get_by_text("your browser did not return to the shop")).to_be_visible()


def test_cart_saves_a_changed_quantity(stack, page):
    page.goto(stack.shop_url + "/products/TEE-01")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added 2 × Organic cotton T-shirt to your cart.")).to_be_visible()
    page.goto(stack.shop_url + "/cart")
    quantity = page.get_by_label("Quantity of Organic cotton T-shirt")
    quantity.fill("3")
    quantity.press("Tab")  # change event: the script submits the form
    expect(page.get_by_text("Updated Organic cotton T-shirt: 3 in your cart.")).to_be_visible()
    expect(page.get_by_text("747,00 kr").first).to_be_visible()
