"""Both notification paths and the sweep, over real HTTP between the shop and the sandbox."""

from __future__ import annotations

import pytest
import requests
from flask import current_app

from shop.extensions import avarda_client, db
from tests.harness import BOTH_DATABASES


@BOTH_DATABASES
@pytest.mark.parametrize(
    "method, label", [("Invoice", "Invoice"), ("Card", "Card"), ("DirectPayment", "Direct payment")]
)
def test_full_purchase_with_each_method(stack, method, label):
    before = stack.stock("MUG-01")
    session = stack.checkout(("MUG-01", 2))
    stack.complete(session.purchase_id, method)

    [delivery] = stack.deliver_until_done(session.purchase_id)

    assert delivery["status"] == "delivered"
    assert delivery["attempts"][-1]["status_code"] == 200
    facts = stack.facts(session.order_token)
    assert facts["state"] == "paid" and facts["confirmed_by"] == "callback"
    assert facts["payment_method"] == label and facts["customer_email"]
    assert facts["emails"] == 1
    assert stack.stock("MUG-01") == before - 2
    status = stack.status(session.order_token)
    assert status["state"] == "paid" and status["confirmed_by"] == "callback"
    assert status["purchase_id"] == session.purchase_id and status["confirmed_at"]


@BOTH_DATABASES
def test_callback_first_then_browser(stack):
    session = stack.checkout()
    stack.complete(session.purchase_id)
    stack.deliver_until_done(session.purchase_id)
    assert stack.facts(session.order_token)["confirmed_by"] == "callback"

    page = stack.done(session.purchase_id)

    assert page.status_code == 200 and "Payment confirmed" in page.text
    facts = stack.facts(session.order_token)
    assert facts["events"] == [("callback", "paid"), ("browser", "duplicate")]
    assert facts["emails"] == 1
    text = stack.order_page(session.order_token)
    assert "Confirmed by Avarda&#39;s server-side callback" in text or (
        "Confirmed by Avarda's server-side callback" in text
    )


@BOTH_DATABASES
def test_browser_first_then_callback(stack):
    before = stack.stock("TEE-01")
    session = stack.checkout(("TEE-01", 1))
    stack.complete(session.purchase_id)

    page = stack.done(session.purchase_id)
    assert "Payment confirmed" in page.text
    [delivery] = stack.deliver_until_done(session.purchase_id)

    assert delivery["status"] == "delivered"  # the duplicate is answered 200
    facts = stack.facts(session.order_token)
    assert facts["confirmed_by"] == "browser"
    assert facts["events"] == [("browser", "paid"), ("callback", "duplicate")]
    assert facts["emails"] == 1 and stack.stock("TEE-01") == before - 1


def test_browser_only_when_the_callback_is_disabled(stack):
    stack.merchant(callback_enabled=False)
    session = stack.checkout()
    stack.complete(session.purchase_id)
    assert stack.run_delivery() == 0
    assert stack.deliveries(session.purchase_id) == []

    assert "Payment confirmed" in stack.done(session.purchase_id).text

    facts = stack.facts(session.order_token)
    assert facts["state"] == "paid" and facts["confirmed_by"] == "browser"
    assert "has not arrived" in stack.order_page(session.order_token)


def test_callback_only_when_the_browser_never_returns(stack):
    session = stack.checkout()
    stack.complete(session.purchase_id)
    stack.deliver_until_done(session.purchase_id)

    assert stack.status(session.order_token)["confirmed_by"] == "callback"
    assert "your browser did not return to the shop" in stack.order_page(session.order_token)


@BOTH_DATABASES
def test_neither_path_arrives_and_the_sweep_confirms(stack):
    session = stack.checkout()
    stack.complete(session.purchase_id, callback=False)
    assert stack.status(session.order_token)["state"] == "pending"

    result = stack.shop_app.test_cli_runner().invoke(args=["reconcile", "--min-age", "0"])

    assert result.exit_code == 0, result.output
    facts = stack.facts(session.order_token)
    assert facts["state"] == "paid" and facts["confirmed_by"] == "sweep"
    assert facts["events"] == [("sweep", "paid")]
    assert "background check" in stack.order_page(session.order_token)


def test_sweep_leaves_young_orders_to_the_live_paths(stack):
    completed, open_ = stack.checkout(), stack.checkout()
    stack.complete(completed.purchase_id, callback=False)

    with stack.shop_app.app_context():
        from shop.orders.sweep import sweep

        young = sweep(
            db.session(),
            avarda_client(),
            min_age=3600,
            shop_url=current_app.config["SHOP_PUBLIC_URL"],
        )
        old = sweep(
            db.session(), avarda_client(), min_age=0, shop_url=current_app.config["SHOP_PUBLIC_URL"]
        )

    assert young.checked == 0
    assert old.hinted == 1 and old.checked == 2
    assert stack.status(completed.order_token)["state"] == "paid"
    assert stack.status(open_.order_token)["state"] == "pending"


def test_failed_payment_fails_the_order(stack):
    session = stack.checkout()
    stack.complete(session.purchase_id, "Fail")
    assert stack.deliveries(session.purchase_id) == []  # Avarda calls back only on success

    stack.done(session.purchase_id)

    assert stack.status(session.order_token)["state"] == "failed"


def test_sandbox_side_failures_are_retried_until_delivered(stack):
    stack.merchant(fail_first_attempts=2)
    session = stack.checkout()
    stack.complete(session.purchase_id)

    [delivery] = stack.deliver_until_done(session.purchase_id)

    assert delivery["status"] == "delivered" and delivery["attempt_count"] == 3
    assert stack.facts(session.order_token)["events"] == [("callback", "paid")]


def test_unknown_purchase_is_404_and_retried(stack):
    """A purchase the shop never created: 404 every time, so Avarda keeps trying."""
    stack.merchant(max_attempts=3)
    url = f"{stack.sandbox_url}/CheckOut2/CheckOut2Api/InitializePayment"
    body = {
        "Price": 10,
        "Items": [{"Description": "x", "Amount": 10, "TaxCode": "25", "TaxAmount": 2}],
    }
    response = requests.post(
        url,
        json=body,
        auth=stack.site_auth,
        timeout=5,
    )
    purchase_id = response.json()
    stack.complete(purchase_id)

    [delivery] = stack.deliver_until_done(purchase_id)

    assert delivery["status"] == "exhausted"
    assert [a["status_code"] for a in delivery["attempts"]] == [404, 404, 404]


def test_wrong_callback_credentials_are_refused_and_the_sweep_recovers(stack):
    stack.merchant(
        max_attempts=2,
        callback_authorization={"scheme": "Basic", "username": "avarda", "password": "wrong"},
    )
    session = stack.checkout()
    stack.complete(session.purchase_id)

    [delivery] = stack.deliver_until_done(session.purchase_id)

    assert [a["status_code"] for a in delivery["attempts"]] == [401, 401]
    assert stack.status(session.order_token)["state"] == "pending"
    with stack.shop_app.app_context():
        from shop.orders.sweep import sweep

        sweep(
            db.session(), avarda_client(), min_age=0, shop_url=current_app.config["SHOP_PUBLIC_URL"]
        )
    assert stack.status(session.order_token)["confirmed_by"] == "sweep"
