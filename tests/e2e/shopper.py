"""A customer in a real browser: what the end-to-end tests and the scripted demo do."""

from __future__ import annotations

import re

from playwright.sync_api import FrameLocator, Page, expect

METHOD_LABELS = {
    "Invoice": "Invoice",
    "Card": "Card",
    "DirectPayment": "Direct payment",
    "Fail": "Fail payment",
}


class Shopper:
    def __init__(self, page: Page, shop_url: str):
        self.page = page
        self.shop_url = shop_url

    def fill_cart(self) -> None:
        """Put the first product of the catalogue into the cart."""
        page = self.page
        page.goto(self.shop_url + "/")
        page.locator("a[href*='/products/']").first.click()
        page.get_by_role("button", name="Add to cart").click()
        page.goto(self.shop_url + "/cart")

    def go_to_checkout(self) -> str:
        """From the cart to the checkout page; returns the order's public token."""
        self.page.get_by_role("button", name="Go to checkout").or_(
            self.page.get_by_role("link", name="Go to checkout")
        ).first.click()
        self.page.wait_for_url(re.compile(r"/checkout"))
        token = self.page.locator("[data-order-token]").first.get_attribute("data-order-token")
        assert token, "the checkout page carries the order token"
        return token

    @property
    def form(self) -> FrameLocator:
        return self.page.frame_locator("iframe").first

    def complete_purchase(self, method: str = "Invoice") -> None:
        """Pick a payment method in Avarda's form and click Complete purchase."""
        self.form.get_by_label(METHOD_LABELS[method], exact=True).check()
        self.form.get_by_role("button", name="Complete purchase").click()

    def approve_external_step(self) -> None:
        """On the card issuer's (3-D Secure) or the bank's page: approve."""
        self.page.get_by_role("button", name="Approve").click()

    def expect_confirmed(self) -> None:
        self.page.wait_for_url(re.compile(r"/checkout/done"), timeout=20_000)
        expect(self.page.get_by_text("Payment confirmed")).to_be_visible(timeout=20_000)
