"""The server API over HTTP: every method, auth, paths, error shapes, the status queue.

The field rules are in test_contract_checkout.py and test_contract_commerce.py."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.integration.sandbox.support import SITE_CODE, SITE_PASSWORD, cart

CHECKOUT = ["InitializePayment", "UpdateItems", "GetPaymentStatus", "GetPaymentStatusQueue"]
COMMERCE = [
    "Commerce/PurchaseOrder",
    "Commerce/ReturnOrder",
    "Commerce/Refund",
    "Commerce/RefundRemaining",
    "Commerce/CancelPayment",
]


def test_every_method_answers_401_with_an_empty_body_without_valid_site_credentials(sandbox):
    bad = [None, (SITE_CODE, "wrong"), ("unknown-site", SITE_PASSWORD), ("", "")]
    for method in CHECKOUT + COMMERCE:
        for auth in bad:
            response = sandbox.api(method, cart(), auth=auth)
            assert (response.status_code, response.content) == (401, b""), (method, auth)
    bearer = sandbox.http.post(
        f"{sandbox.base}/CheckOut2Api/InitializePayment",
        json=cart(),
        headers={"Authorization": f"Bearer {SITE_PASSWORD}"},
        timeout=5,
    )
    assert bearer.status_code == 401


def test_initialize_returns_a_32_hex_json_string_literal_and_status_reads_it_back(sandbox):
    response = sandbox.api("InitializePayment", cart("250.00") | {"Mail": "a@example.com"})
    assert response.status_code == 200
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.text.strip())
    purchase_id = response.json()
    status = sandbox.status(purchase_id)
    assert status["PurchaseId"] == purchase_id
    assert status["State"] == 0
    assert status["PaymentMethod"] is None
    assert status["Completed"] is None
    assert status["OrderReference"] == "order-1"
    assert status["Mail"] == "a@example.com"
    assert status["DeliveryCity"] is None
    assert status["Price"] == 250


def test_money_is_exact_in_both_directions(sandbox):
    purchase_id = sandbox.initialize("0.30")
    raw = sandbox.api("GetPaymentStatus", {"PurchaseId": purchase_id}).text
    assert '"Price": 0.30' in raw


def test_paths_are_case_insensitive(sandbox):
    url = f"{sandbox.base}/checkout2api/initializepayment".replace("/CheckOut2/", "/checkout2/")
    response = sandbox.http.post(url, json=cart(), auth=(SITE_CODE, SITE_PASSWORD), timeout=5)
    assert response.status_code == 200
    assert len(response.json()) == 32


def test_item_description_and_notes_are_truncated_to_35(sandbox):
    body = cart("10.00")
    body["Items"] = [{"Description": "D" * 50, "Notes": "N" * 40, "Amount": "10.00"}]
    purchase_id = sandbox.api("InitializePayment", body).json()
    item = sandbox.purchase(purchase_id)["Items"][0]
    assert item["Description"] == "D" * 35
    assert item["Notes"] == "N" * 35


def test_malformed_json_is_a_checkout_error_not_a_500(sandbox):
    response = sandbox.http.post(
        f"{sandbox.base}/CheckOut2Api/InitializePayment",
        data=b"{not json",
        auth=(SITE_CODE, SITE_PASSWORD),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["CheckOutErrorCode"] == 1004


def test_update_items_replaces_the_cart_while_in_checkout(sandbox):
    purchase_id = sandbox.initialize("250.00")
    response = sandbox.api("UpdateItems", {"PurchaseId": purchase_id, **cart("300.00")})
    assert response.status_code == 200
    assert response.content == b""
    assert Decimal(str(sandbox.status(purchase_id)["Price"])) == Decimal("300.00")


def test_update_items_validates_and_needs_a_known_purchase(sandbox):
    purchase_id = sandbox.initialize()
    bad = sandbox.api("UpdateItems", {"PurchaseId": purchase_id, "Price": 5, "Items": []})
    assert bad.status_code == 400 and bad.json()["CheckOutErrorCode"] == 1001
    unknown = sandbox.api("UpdateItems", {"PurchaseId": "0" * 32, **cart()})
    assert unknown.status_code == 400 and unknown.json()["CheckOutErrorCode"] == 1002


@pytest.mark.parametrize(
    ("method", "step"),
    [("Invoice", "approve"), ("Card", "approve"), ("Fail", "approve"), ("Card", "wait")]
    + [(m, "wait") for m in ("Loan", "PartPayment", "DirectPayment")],
)
def test_update_items_is_refused_once_waiting_or_finished(sandbox, method, step):
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, method, Step=step)
    response = sandbox.api("UpdateItems", {"PurchaseId": purchase_id, **cart("300.00")})
    assert response.status_code == 400
    assert response.json()["CheckOutErrorCode"] == 1003
    assert Decimal(str(sandbox.status(purchase_id)["Price"])) == Decimal("250.00")


def test_purchases_are_private_to_their_merchant(make_sandbox):
    other = {"site_code": "other-site", "site_password": "other-secret"}
    sandbox = make_sandbox(SANDBOX_MERCHANTS=[other])
    purchase_id = sandbox.initialize()
    response = sandbox.api(
        "GetPaymentStatus", {"PurchaseId": purchase_id}, auth=("other-site", "other-secret")
    )
    assert response.status_code == 400
    assert response.json()["CheckOutErrorCode"] == 1002


def test_get_payment_status_of_unknown_purchase(sandbox):
    response = sandbox.api("GetPaymentStatus", {"PurchaseId": "f" * 32})
    assert response.status_code == 400
    assert response.json() == {
        "CheckOutErrorCode": 1002,
        "Errors": ["Invalid or missing PurchaseId."],
    }


def test_status_queue_lists_completed_purchases_after_a_purchase_oldest_first(sandbox):
    ids = [sandbox.initialize() for _ in range(4)]
    sandbox.initialize()  # never completed
    for purchase_id in ids:
        sandbox.complete(purchase_id)
    queue = sandbox.api("GetPaymentStatusQueue", {"PurchaseId": ids[0]})
    assert queue.status_code == 200
    assert queue.json() == ids[1:]
    page = sandbox.api("GetPaymentStatusQueue", {"PurchaseId": ids[0], "Offset": 1, "PageSize": 1})
    assert page.json() == [ids[2]]
    since = sandbox.api("GetPaymentStatusQueue", {"StartDate": "2000-01-01 00:00:00"})
    assert since.json() == ids


def test_status_queue_validation(sandbox):
    for body in ({}, {"StartDate": "yesterday"}, {"StartDate": "2026-01-01", "PageSize": 0}):
        response = sandbox.api("GetPaymentStatusQueue", body)
        assert response.status_code == 400
        assert response.json()["CheckOutErrorCode"] == 1001


def test_purchases_time_out_to_state_5(sandbox):
    sandbox.settings(purchase_timeout_seconds=1)
    purchase_id = sandbox.initialize()
    from tests.harness import wait_until

    wait_until(lambda: sandbox.status(purchase_id)["State"] == 5, timeout=5)
    history = sandbox.purchase(purchase_id)["history"]
    assert [change["to"] for change in history] == [0, 5]
    late = sandbox.admin(
        "POST", f"Purchases/{purchase_id}/Complete", json={"PaymentMethod": "Invoice"}
    )
    assert late.status_code == 409


def test_get_on_an_api_method_is_not_a_500(sandbox):
    response = sandbox.http.get(f"{sandbox.base}/CheckOut2Api/GetPaymentStatus", timeout=5)
    assert response.status_code == 405
