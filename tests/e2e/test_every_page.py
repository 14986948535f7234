"""Every page at desktop (1280 × 800) and phone (390 × 844) size, against the demo as
`make run` starts it: the shop's customer pages, the back office, Avarda's form and
payment pages in the sandbox, and the sandbox's dashboard. Each must fit the viewport
(wide tables scroll inside their own box), pass axe-core with no serious or critical
WCAG 2.1 A/AA violation, and on a phone have 16 px fields and 24 px tap targets.

The back office and the dashboard are walked through their own navigation, so a page
added there is checked without changing this test.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.audit import VIEWPORTS, Audit
from tests.e2e.shopper import Shopper
from tests.harness import ADMIN_EMAIL, ADMIN_PASSWORD, Stack

pytestmark = pytest.mark.browser


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def sized(request, browser: Browser, merchant: Stack):
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield request.param, page
    context.close()


def avarda_form(page: Page):
    """The frame of Avarda's form, once the form is shown."""
    button = page.frame_locator("iframe").get_by_role("button", name="Complete purchase")
    expect(button).to_be_visible()
    frame = page.frame(name="avarda-checkout")
    assert frame is not None
    return frame


def test_every_customer_page(sized, merchant: Stack):
    viewport, page = sized
    audit = Audit(viewport)
    shopper = Shopper(page, merchant.shop_url)

    page.goto(merchant.shop_url + "/")
    audit.check(page, "catalogue")
    page.goto(merchant.shop_url + "/cart")
    audit.check(page, "empty cart")
    page.goto(merchant.shop_url + "/")
    page.locator("a[href*='/products/']").first.click()
    audit.check(page, "product")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".flash")).to_be_visible()
    audit.check(page, "product with a message")
    page.goto(merchant.shop_url + "/cart")
    audit.check(page, "cart")

    token = shopper.go_to_checkout()
    audit.check(page, "checkout")
    audit.check(avarda_form(page), "Avarda's form")
    purchase_id = merchant.status(token)["purchase_id"]

    waiting = page.context.new_page()
    waiting.goto(f"{merchant.shop_url}/checkout/done?purchaseId={purchase_id}")
    expect(waiting.get_by_text("Confirming your payment…")).to_be_visible()
    audit.check(waiting, "done page, pending")
    waiting.goto(f"{merchant.shop_url}/orders/{token}")
    audit.check(waiting, "order page, pending")
    waiting.close()

    shopper.complete_purchase("Card")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    audit.check(page, "card issuer (3-D Secure)")
    page.get_by_role("button", name="Decline").click()
    form = avarda_form(page)
    expect(page.frame_locator("iframe").get_by_text("declined")).to_be_visible()
    audit.check(form, "Avarda's form after a declined card")

    shopper.complete_purchase("Fail")
    expect(page.get_by_text("Your payment did not go through")).to_be_visible()
    audit.check(page, "done page, failed")
    page.goto(f"{merchant.shop_url}/orders/{token}")
    audit.check(page, "order page, failed")

    page.goto(merchant.shop_url + "/cart")
    paid_token = shopper.go_to_checkout()
    shopper.complete_purchase("Invoice")
    shopper.expect_confirmed()
    audit.check(page, "done page, paid")
    page.goto(f"{merchant.shop_url}/orders/{paid_token}")
    audit.check(page, "order page, paid")

    page.goto(merchant.shop_url + "/no-such-page")
    audit.check(page, "not found")
    audit.assert_clean()


def test_every_back_office_page(sized, merchant: Stack):
    viewport, page = sized
    audit = Audit(viewport)
    page.goto(merchant.shop_url + "/admin/")
    audit.check(page, "admin sign-in")
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".admin-nav")).to_be_visible()

    sections = page.locator(".admin-nav a").evaluate_all("links => links.map(a => a.href)")
    assert sections
    for url in sections:
        page.goto(url)
        audit.check(page, "admin " + url.removeprefix(merchant.shop_url))
    page.goto(merchant.shop_url + "/admin/")
    order_links = page.locator("a[href*='/admin/orders/']")
    if order_links.count():
        order_links.first.click()
        page.wait_for_url(re.compile(r"/admin/orders/[^/?]+$"))
        audit.check(page, "admin order")
    audit.assert_clean()


def test_every_sandbox_page(sized, merchant: Stack):
    viewport, page = sized
    audit = Audit(viewport)
    page.goto(merchant.sandbox_url + "/CheckOut2/Sandbox/")
    audit.check(page, "sandbox sign-in")
    user, password = merchant.sandbox_admin
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/CheckOut2/Sandbox/$"))

    sections = page.locator("header nav a").evaluate_all("links => links.map(a => a.href)")
    assert sections
    for url in sections:
        page.goto(url)
        audit.check(page, "sandbox " + url.removeprefix(merchant.sandbox_url))
    for listing, link, name in [
        ("/", "a[href*='/Sandbox/purchases/']", "sandbox purchase"),
        ("/merchants", "a[href*='/Sandbox/merchants/']", "sandbox merchant"),
    ]:
        page.goto(merchant.sandbox_url + "/CheckOut2/Sandbox" + listing)
        if page.locator(link).count():
            page.locator(link).first.click()
            page.wait_for_load_state("load")
            audit.check(page, name)
    audit.assert_clean()
