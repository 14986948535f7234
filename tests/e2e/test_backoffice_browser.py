"""Support staff in a real Chromium, against the demo as `make run` starts it: sign in,
find an order paid through the server callback alone, deliver part of it, deliver the
rest, refund part, cancel another order; at desktop size and at 390 px. After every
action the shop's amounts must equal Avarda's (the sandbox's admin API), and axe-core
finds no serious or critical WCAG 2.1 A/AA violation on the back-office pages.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.e2e.shopper import Shopper
from tests.harness import ADMIN_EMAIL, ADMIN_PASSWORD, Stack, wait_until

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def buy_mugs(browser: Browser, stack: Stack, quantity: int) -> str:
    """A customer buys ``quantity`` mugs by invoice and closes the tab at once; returns
    the order's token once the server callback alone has confirmed it."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(stack.shop_url + "/products/MUG-01")
        page.get_by_label("Quantity").fill(str(quantity))
        page.get_by_role("button", name="Add to cart").click()
        page.goto(stack.shop_url + "/cart")
        shopper = Shopper(page, stack.shop_url)
        token = shopper.go_to_checkout()
        shopper.complete_purchase("Invoice")
        purchase_id = stack.status(token)["purchase_id"]
        wait_until(lambda: stack.purchase(purchase_id)["State"] == 2, message="completed")
    finally:
        context.close()

    def paid() -> dict[str, Any] | None:
        status = stack.status(token)
        return status if status["state"] == "paid" else None

    status = wait_until(paid, timeout=30, interval=0.1, message="paid by the callback")
    assert status["confirmed_by"] == "callback"
    return token


def check_accessibility(page: Page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    bad = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{page.url}: {bad}"


def fits(page: Page, size: str) -> None:
    """The page needs no sideways scrolling (wide tables scroll inside their box), and
    ``E2E_SCREENSHOTS=<dir>`` keeps a picture of it."""
    if folder := os.environ.get("E2E_SCREENSHOTS"):
        name = re.sub(r"[^a-z0-9]+", "-", page.url.split("/", 3)[-1].lower()).strip("-")
        height = page.evaluate("document.documentElement.scrollHeight")
        width = VIEWPORTS[size]["width"]
        for n, top in enumerate(range(0, min(height, 4000), 1000)):
            clip = {"x": 0, "y": top, "width": width, "height": min(1000, height - top)}
            page.screenshot(
                path=str(Path(folder) / f"{size}-{name}-{n}.png"), full_page=True, clip=clip
            )
    wide = page.evaluate(
        """() => {
          const edge = document.documentElement.clientWidth + 1;
          const right = (e) => e.getBoundingClientRect().right;
          return [...document.querySelectorAll("body *")]
            .filter((e) => right(e) > edge && right(e.parentElement) <= edge)
            .slice(0, 5)
            .map((e) => `${e.tagName}.${e.className}: ${Math.round(right(e))}`);
        }"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[size]["width"], wide


def agree(stack: Stack, page: Page, purchase_id: str) -> dict[str, Decimal]:
    """The order page's money table equals the sandbox's amounts."""
    avarda = stack.purchase(purchase_id)
    shown = {}
    for name in ("Delivered", "Returned", "Refunded"):
        cell = page.locator("table.money tr", has_text=re.compile(f"^\\s*{name}")).locator("td")
        text = cell.inner_text().replace("\u00a0", " ").replace(" kr", "").replace(" ", "")
        shown[name] = Decimal(text.replace(",", "."))
        assert shown[name] == Decimal(str(avarda[f"{name}Amount"])), (name, shown, avarda)
    return shown


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_support_delivers_refunds_and_cancels(merchant: Stack, browser: Browser, size: str):
    merchant.merchant(never_call_done=True)  # the browser never reports back
    merchant.stop("sweeper")  # so only the server callback confirms
    token = buy_mugs(browser, merchant, quantity=3)
    other = buy_mugs(browser, merchant, quantity=1)
    number = merchant.status(token)["number"]
    purchase_id = merchant.status(token)["purchase_id"]

    context = browser.new_context(viewport=VIEWPORTS[size], bypass_csp=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    try:
        page.goto(merchant.shop_url + "/admin/")
        page.get_by_label("E-mail").fill(ADMIN_EMAIL)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Orders")).to_be_visible()
        check_accessibility(page)
        fits(page, size)

        # Find it: orders confirmed by the callback, then by its number.
        page.get_by_label("Confirmed by").select_option("callback")
        page.get_by_label("Search orders").fill(number)
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_text("Showing 1–1 of 1 order")).to_be_visible()
        page.get_by_role("link", name=number).click()
        expect(page.get_by_role("heading", name=re.compile(f"Order {number}"))).to_be_visible()
        expect(page.get_by_text("Confirmed by Avarda's server-side callback")).to_be_visible()
        check_accessibility(page)

        # Deliver part of it: one of the three mugs.
        deliver = page.locator("form", has=page.get_by_role("button", name="Deliver"))
        deliver.get_by_label(re.compile("Enamel camp mug")).fill("1")
        deliver.get_by_label(re.compile("Tracking code")).fill("E2E-TRACK-1")
        deliver.get_by_role("button", name="Deliver").click()
        expect(page.get_by_text("Deliver (PurchaseOrder): Accepted by Avarda")).to_be_visible()
        assert "Deliver the chosen items through Avarda?" in questions[-1]
        assert agree(merchant, page, purchase_id)["Delivered"] == Decimal("149.00")
        check_accessibility(page)
        fits(page, size)

        # Deliver the rest: the form as rendered holds every undelivered item.
        page.get_by_role("button", name="Deliver").click()
        expect(page.get_by_text("Deliver (PurchaseOrder): Accepted by Avarda")).to_be_visible()
        assert agree(merchant, page, purchase_id)["Delivered"] == Decimal("447.00")
        expect(page.get_by_role("button", name="Deliver")).to_have_count(0)

        # Refund part of it.
        page.get_by_label(re.compile("Amount")).fill("10.00")
        page.get_by_role("button", name="Refund").click()
        expect(page.get_by_text("Refund (Refund): Accepted by Avarda")).to_be_visible()
        assert agree(merchant, page, purchase_id)["Refunded"] == Decimal("10.00")
        expect(page.get_by_role("button", name="Cancel")).to_have_count(0)  # delivered: no cancel

        # Cancel the other order.
        other_number = merchant.status(other)["number"]
        page.goto(f"{merchant.shop_url}/admin/orders/{other_number}")
        page.get_by_label("Reason").fill("Customer asked to cancel")
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_text("Cancel (CancelPayment): Accepted by Avarda")).to_be_visible()
        assert merchant.status(other)["state"] == "cancelled"
        assert merchant.purchase(merchant.status(other)["purchase_id"])["State"] == 8

        page.goto(merchant.shop_url + "/admin/notifications")
        expect(page.get_by_role("heading", name="Server callbacks")).to_be_visible()
        check_accessibility(page)
        fits(page, size)
        page.goto(merchant.shop_url + "/admin/orders?view=attention")
        check_accessibility(page)

        # The customer sees it too.
        page.goto(f"{merchant.shop_url}/orders/{token}")
        expect(page.get_by_text("E2E-TRACK-1")).to_be_visible()
        expect(page.get_by_text("We refunded 10,00 kr to you.")).to_be_visible()
        fits(page, size)
        page.goto(f"{merchant.shop_url}/orders/{other}")
        expect(page.get_by_text("Your order was cancelled").first).to_be_visible()
        fits(page, size)
    finally:
        context.close()
