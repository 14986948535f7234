"""The customer's journeys that are not the happy path, on a desktop and on a phone,
against the demo as `make run` starts it: a failed payment that ends in Try again, a
declined card, and a checkout page that notices by itself that the order was paid when
the browser's ``done`` comes late or never. No page may scroll sideways on the way.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.audit import VIEWPORTS, page_width
from tests.e2e.shopper import Shopper
from tests.harness import Stack

pytestmark = pytest.mark.browser


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def customer(request, browser: Browser, merchant: Stack):
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield Shopper(page, merchant.shop_url)
    context.close()


def fits(page: Page) -> None:
    scroll, width = page_width(page)
    assert scroll <= width, f"{page.url} is {scroll} px wide in a {width} px viewport"


def on_first_screen(page: Page, name: str) -> None:
    """A link or button the customer needs next is in view without scrolling."""
    box = page.get_by_role("link", name=name).bounding_box()
    assert box and box["y"] + box["height"] <= page.viewport_size["height"], name


def badge(page: Page):
    return page.locator(".badge[data-cart-count]")


def test_a_failed_payment_offers_try_again_and_keeps_the_cart(merchant: Stack, customer):
    page = customer.page
    customer.fill_cart()
    token = customer.go_to_checkout()
    customer.complete_purchase("Fail")

    expect(page.get_by_role("heading", name="Your payment did not go through")).to_be_visible()
    assert "/checkout/done" in page.url
    expect(page.get_by_text("Nothing has been charged")).to_be_visible()
    on_first_screen(page, "Try again")
    on_first_screen(page, "Back to the cart")
    expect(badge(page)).to_have_text("1")
    fits(page)
    assert merchant.status(token)["state"] == "failed"

    page.get_by_role("link", name="Try again").click()
    page.wait_for_url(re.compile(r"/checkout$"))
    retry = page.locator("#order-status").get_attribute("data-order-token")
    assert retry and retry != token, "a new order, with a new purchase"
    customer.complete_purchase("Invoice")
    customer.expect_confirmed()
    expect(badge(page)).to_have_text("0")
    fits(page)
    assert merchant.status(retry)["state"] == "paid"


def test_a_declined_card_returns_to_the_form_with_a_message(merchant: Stack, customer):
    page = customer.page
    customer.fill_cart()
    token = customer.go_to_checkout()
    customer.complete_purchase("Card")
    page.get_by_role("button", name="Decline").click()

    page.wait_for_url(re.compile(r"/checkout\?"))
    message = customer.form.get_by_role("alert")
    expect(message).to_have_text("The card payment was declined. Choose another payment method.")
    for method in ("Invoice", "Direct payment", "Card"):
        expect(customer.form.get_by_label(method, exact=True)).to_be_enabled()
    fits(page)
    customer.complete_purchase("DirectPayment")
    customer.approve_external_step()
    customer.expect_confirmed()
    assert merchant.status(token)["state"] == "paid"


@pytest.mark.parametrize(
    "fault",
    [{"done_delay_seconds": 60}, {"never_call_done": True}],
    ids=["done late", "no done"],
)
def test_the_checkout_page_notices_the_payment_by_itself(merchant: Stack, customer, fault):
    """Avarda's callback pays the order while ``done`` is late or never comes: the page
    the customer is looking at says so, with a link to the order, instead of the form."""
    merchant.merchant(**fault)
    page = customer.page
    customer.fill_cart()
    token = customer.go_to_checkout()
    customer.complete_purchase("Invoice")

    status = page.locator("#order-status")
    expect(status.get_by_role("heading", name="Payment confirmed")).to_be_visible()
    expect(status).to_contain_text("Confirmed by Avarda's server-side callback")
    expect(page.locator("iframe")).to_have_count(0)
    expect(page.get_by_role("link", name="Back to the cart")).to_have_count(0)
    expect(badge(page)).to_have_text("0")
    expect(status.get_by_role("heading", name="Payment confirmed")).to_be_focused()
    assert page.url.endswith("/checkout"), "done() did not take the browser anywhere"
    fits(page)
    assert merchant.status(token)["confirmed_by"] == "callback"

    status.get_by_role("link", name="See your order").click()
    expect(page.get_by_text("your browser did not return to the shop")).to_be_visible()


def test_without_done_a_failed_payment_is_noticed_too(merchant: Stack, customer):
    """No ``done`` after a failed payment: the shop's background check finds the dead
    purchase, and the checkout page then offers Try again."""
    merchant.merchant(never_call_done=True)
    page = customer.page
    customer.fill_cart()
    token = customer.go_to_checkout()
    customer.complete_purchase("Fail")

    heading = page.get_by_role("heading", name="Your payment did not go through")
    expect(heading).to_be_visible(timeout=40_000)
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    assert page.url.endswith("/checkout")
    assert merchant.status(token)["state"] == "failed"
    fits(page)


def test_done_shows_confirming_at_once_while_the_browser_goes_to_the_done_page(
    merchant: Stack, customer
):
    page = customer.page
    customer.fill_cart()
    customer.go_to_checkout()
    page.evaluate(
        """() => {
          window.seen = [];
          const status = document.getElementById("order-status");
          new MutationObserver(() => window.seen.push(status.textContent.trim()))
            .observe(status, { childList: true, subtree: true });
          sessionStorage.setItem("seen", "[]");
          window.addEventListener("pagehide", () =>
            sessionStorage.setItem("seen", JSON.stringify(window.seen)));
        }"""
    )
    customer.complete_purchase("Invoice")
    customer.expect_confirmed()
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seen'))")
    assert any(text.startswith("Confirming your payment…") for text in seen), seen
