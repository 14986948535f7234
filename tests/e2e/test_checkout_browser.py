"""The browser proof: a real Chromium against the demo as `make run` starts it.

Each test is one story a developer would show a colleague. The order's truth is read from
the shop (its status JSON and order page) and the sandbox's admin API, never from the
browser's own idea of what happened.
"""

from __future__ import annotations

from email import message_from_bytes
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.shopper import Shopper
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.browser


def wait_for_state(stack: Stack, token: str, state: str, timeout: float = 30) -> dict:
    def reached() -> dict | None:
        status = stack.status(token)
        assert not (state != "paid" and status["state"] == "paid"), status
        return status if status["state"] == state else None

    return wait_until(reached, timeout=timeout, interval=0.1, message=f"order {token} {state}")


@pytest.mark.parametrize("method", ["Invoice", "Card", "DirectPayment"])
def test_happy_path_ends_on_payment_confirmed(merchant: Stack, shopper: Shopper, method: str):
    shopper.fill_cart()
    token = shopper.go_to_checkout()
    shopper.complete_purchase(method)
    if method != "Invoice":
        # The whole browser leaves for the issuer/bank page, then comes back via callbackUrl.
        shopper.approve_external_step()
    shopper.expect_confirmed()

    status = merchant.status(token)
    assert status["state"] == "paid"
    assert status["confirmed_by"] in {"browser", "callback"}
    purchase = merchant.purchase(status["purchase_id"])
    assert purchase["State"] == 2


def test_closing_the_tab_after_complete_purchase_loses_nothing(
    merchant: Stack, shopper: Shopper, browser
):
    merchant.merchant(done_delay_seconds=60)
    shopper.fill_cart()
    token = shopper.go_to_checkout()
    shopper.complete_purchase("Invoice")
    expect(
        shopper.form.get_by_text("Close this tab to see the server-side callback")
    ).to_be_visible()
    shopper.page.context.close()  # the customer is gone before done() could run

    status = wait_for_state(merchant, token, "paid")
    assert status["confirmed_by"] == "callback"

    later = browser.new_context()
    try:
        order_page = later.new_page()
        order_page.goto(f"{merchant.shop_url}/orders/{token}")
        expect(order_page.get_by_text("server-side callback").first).to_be_visible()
        expect(order_page.get_by_text("did not return").first).to_be_visible()
    finally:
        later.close()


def test_browser_closed_on_the_3ds_page_gives_no_paid_order(merchant: Stack, shopper: Shopper):
    merchant.merchant(purchase_timeout_seconds=2)
    shopper.fill_cart()
    token = shopper.go_to_checkout()
    shopper.complete_purchase("Card")
    expect(shopper.page.get_by_role("button", name="Approve")).to_be_visible()
    purchase_id = merchant.status(token)["purchase_id"]
    assert merchant.purchase(purchase_id)["State"] == 6
    shopper.page.context.close()

    wait_for_state(merchant, token, "failed", timeout=40)
    assert merchant.purchase(purchase_id)["State"] == 5


def test_shop_down_when_the_callback_first_fires(merchant: Stack, shopper: Shopper):
    merchant.merchant(never_call_done=True)
    shopper.fill_cart()
    token = shopper.go_to_checkout()
    purchase_id = merchant.status(token)["purchase_id"]
    merchant.stop("shop")
    merchant.stop("sweeper")  # only the callback may confirm this order
    shopper.complete_purchase("Invoice")

    def failed_attempt() -> bool:
        deliveries = merchant.purchase(purchase_id)["deliveries"]
        return bool(deliveries) and deliveries[0]["attempt_count"] >= 1

    wait_until(failed_attempt, timeout=20, message="a first, failed, delivery attempt")
    merchant.start("shop")

    status = wait_for_state(merchant, token, "paid")
    assert status["confirmed_by"] == "callback"

    def delivered() -> dict | None:
        # The order may be paid by an attempt the sandbox gave up waiting for (a read
        # timeout on a loaded machine); the next attempt is then the one delivered.
        first = merchant.purchase(purchase_id)["deliveries"][0]
        return first if first["status"] == "delivered" else None

    delivery = wait_until(delivered, timeout=30, message="the callback delivered")
    assert delivery["attempt_count"] >= 2
    assert delivery["attempts"][0]["outcome"] != "delivered"


def test_sandbox_and_worker_killed_after_completion_lose_no_callback(
    merchant: Stack, shopper: Shopper
):
    merchant.merchant(never_call_done=True)
    merchant.stop("sweeper")  # only the callback may confirm this order
    merchant.kill("delivery")
    shopper.fill_cart()
    token = shopper.go_to_checkout()
    purchase_id = merchant.status(token)["purchase_id"]
    shopper.complete_purchase("Invoice")
    wait_until(lambda: merchant.purchase(purchase_id)["State"] == 2, message="completed")
    shopper.page.context.close()

    merchant.kill("sandbox")  # kill -9: whatever was committed must survive
    merchant.start("sandbox")
    assert merchant.status(token)["state"] == "pending"
    merchant.start("delivery")

    status = wait_for_state(merchant, token, "paid")
    assert status["confirmed_by"] == "callback"
    [delivery] = merchant.purchase(purchase_id)["deliveries"]
    assert delivery["status"] == "delivered"


def test_callbacks_disabled_and_tab_closed_the_sweep_confirms(merchant: Stack, shopper: Shopper):
    merchant.merchant(callback_enabled=False, never_call_done=True)
    shopper.fill_cart()
    token = shopper.go_to_checkout()
    purchase_id = merchant.status(token)["purchase_id"]
    shopper.complete_purchase("Invoice")
    wait_until(lambda: merchant.purchase(purchase_id)["State"] == 2, message="completed")
    shopper.page.context.close()

    status = wait_for_state(merchant, token, "paid", timeout=40)
    assert status["confirmed_by"] == "sweep"
    assert merchant.purchase(purchase_id)["deliveries"] == []


def test_done_and_callback_at_the_same_moment_pay_once(merchant: Stack, shopper: Shopper):
    merchant.merchant(callback_copies=3)
    shopper.fill_cart()
    token = shopper.go_to_checkout()
    before = merchant.order_stock(token)
    shopper.complete_purchase("Invoice")
    shopper.expect_confirmed()
    purchase_id = merchant.status(token)["purchase_id"]

    def all_delivered() -> bool:
        deliveries = merchant.purchase(purchase_id)["deliveries"]
        return len(deliveries) == 3 and all(d["status"] == "delivered" for d in deliveries)

    wait_until(all_delivered, timeout=20, message="three callbacks delivered")
    facts = merchant.facts(token)
    assert facts["paid_transitions"] == 1
    assert facts["emails"] == 1
    assert facts["notifications"] >= 4  # three callbacks and the browser, each recorded
    after = merchant.order_stock(token)
    assert {sku: before[sku] - after[sku] for sku in before} == facts["quantities"]

    # The mailer process sends the one confirmation (demo transport: .eml files).
    number = facts["number"]

    def mails() -> list[Path]:
        return [
            p
            for p in merchant.mail_dir.glob("*.eml")
            if number in message_from_bytes(p.read_bytes())["Subject"]
        ]

    wait_until(mails, timeout=20, message="the confirmation e-mail was sent")
    assert len(mails()) == 1
