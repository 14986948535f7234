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


def test_cart_saves_quantities_in_place_once_the_customer_pauses(stack, page):
    """Arrow keys in a quantity field neither reload the page nor move focus (WCAG
    3.2.2); one save follows the pause, and the totals, messages and badge follow it."""
    page.goto(stack.shop_url + "/products/TEE-01")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added 2 × Organic cotton T-shirt to your cart.")).to_be_visible()
    page.goto(stack.shop_url + "/cart")
    saves: list[str] = []
    page.on("request", lambda r: saves.append(r.url) if r.url.endswith("/cart/update") else None)
    page.evaluate("window.sameDocument = true")

    quantity = page.get_by_label("Quantity of Organic cotton T-shirt")
    quantity.focus()
    for _ in range(3):
        quantity.press("ArrowUp")
    expect(page.get_by_text("Updated Organic cotton T-shirt: 5 in your cart.")).to_be_visible()
    expect(page.locator("[data-line-total]")).to_have_text("1 245,00 kr")
    expect(page.locator(".badge[data-cart-count]")).to_have_text("5")
    expect(quantity).to_be_focused()
    assert page.evaluate("window.sameDocument") is True
    assert len(saves) == 1

    quantity.fill("0")
    quantity.press("Enter")  # Update at once
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your cart")).to_be_focused()
    expect(page.locator(".badge[data-cart-count]")).to_have_text("0")
    assert page.evaluate("window.sameDocument") is True


def test_order_page_times_are_in_the_readers_zone(stack, client, browser):
    token, purchase_id = checkout(client)
    pay_by_callback(stack, token, purchase_id)
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{stack.shop_url}/orders/{token}")
        times = page.locator("time[data-local]")
        expect(times.first).to_contain_text("GMT+9")
        for time in times.all():
            utc = time.get_attribute("title")  # the server's text, kept
            assert utc and utc.endswith(" UTC"), utc
            assert "GMT+9" in time.inner_text()
        event = page.locator("[data-timeline] time").last
        hours = int(event.get_attribute("datetime")[11:13])
        assert event.inner_text().startswith(f"{(hours + 9) % 24:02d}:")
        assert re.search(r"\d\d:\d\d:\d\d\.\d{3}", event.inner_text())
    finally:
        context.close()
