"""Contract tests of the server API over HTTP: every method, auth, validation, error shapes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.sandbox.conftest import SITE_CODE, SITE_PASSWORD, cart

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


VALIDATION_CASES = [
    ({"Price": 0}, "Price must be greater than 0."),
    ({"Price": -5}, "Price must be greater than 0."),
    ({"Price": None}, "Price is required."),
    ({"Price": "abc"}, "Price must be a number."),
    ({"Price": "1.001"}, "Price can have at most two decimals."),
    ({"Items": []}, "Items must be a non-empty list."),
    ({"Price": "251.00"}, "The sum of item amounts (250.00) must equal Price (251.00)."),
    ({"Mail": "x" * 55 + "@e.com"}, "Mail can be at most 60 characters."),
    ({"Phone": "1" * 16}, "Phone can be at most 15 characters."),
    ({"InvoicingCity": "c" * 41}, "InvoicingCity can be at most 40 characters."),
    ({"UserLanguageCode": "xx-XX"}, "UserLanguageCode must be one of"),
    ({"IsInvoicingEditable": "yes"}, "IsInvoicingEditable must be true or false."),
]


def test_initialize_validation_errors_in_avardas_shape(sandbox):
    for change, message in VALIDATION_CASES:
        response = sandbox.api("InitializePayment", cart("250.00") | change)
        assert response.status_code == 400, change
        body = response.json()
        assert body["CheckOutErrorCode"] == 1001
        assert any(error.startswith(message) for error in body["Errors"]), (change, body)


def test_negative_rows_are_fine_but_the_sum_must_be_positive(sandbox):
    discount = {
        "Price": "80.00",
        "Items": [
            {"Description": "Mug", "Amount": "100.00"},
            {"Description": "Rebate", "Amount": -20},
        ],
    }
    assert sandbox.api("InitializePayment", discount).status_code == 200
    negative = {"Price": "1.00", "Items": [{"Amount": "10"}, {"Amount": "-10"}]}
    response = sandbox.api("InitializePayment", negative)
    assert response.status_code == 400
    assert "must be positive" in " ".join(response.json()["Errors"])


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


@pytest.mark.parametrize("method", ["Invoice", "Card", "Fail"])
def test_update_items_is_refused_once_completed_or_finished(sandbox, method):
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, method)
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
    from tests.support import wait_until

    wait_until(lambda: sandbox.status(purchase_id)["State"] == 5, timeout=5)
    history = sandbox.purchase(purchase_id)["history"]
    assert [change["to"] for change in history] == [0, 5]
    late = sandbox.admin(
        "POST", f"Purchases/{purchase_id}/Complete", json={"PaymentMethod": "Invoice"}
    )
    assert late.status_code == 409


# --- Commerce ------------------------------------------------------------------------


def commerce(sandbox, method, **body):
    return sandbox.api(f"Commerce/{method}", body)


def error_code(response) -> str:
    assert response.status_code == 400, response.text
    [error] = response.json()
    assert set(error) == {"ErrorCode", "ErrorMessage"}
    return error["ErrorCode"]


@pytest.fixture
def completed(sandbox) -> str:
    purchase_id = sandbox.initialize("250.00")
    sandbox.complete(purchase_id)
    return purchase_id


def test_partial_deliveries_returns_and_refunds_track_amounts(sandbox, completed):
    item = [{"Description": "Mug", "Amount": "100.00"}]
    assert (
        commerce(sandbox, "PurchaseOrder", ExternalId=completed, TranId="t1", Items=item).content
        == b""
    )
    assert (
        commerce(
            sandbox, "PurchaseOrder", ExternalId=completed, TranId="t2", Items=item
        ).status_code
        == 200
    )
    too_much = commerce(sandbox, "PurchaseOrder", ExternalId=completed, TranId="t3", Items=item)
    assert error_code(too_much) == "10009"
    assert (
        commerce(sandbox, "ReturnOrder", ExternalId=completed, TranId="t4", Items=item).status_code
        == 200
    )
    assert (
        commerce(sandbox, "Refund", ExternalId=completed, TranId="t5", Amount="60.00").status_code
        == 200
    )
    over_refund = commerce(sandbox, "Refund", ExternalId=completed, TranId="t6", Amount="40.01")
    assert error_code(over_refund) == "10009"
    assert (
        commerce(sandbox, "RefundRemaining", ExternalId=completed, TranId="t7").status_code == 200
    )
    nothing_left = commerce(sandbox, "RefundRemaining", ExternalId=completed, TranId="t8")
    assert error_code(nothing_left) == "10009"
    purchase = sandbox.purchase(completed)
    amounts = {k: Decimal(str(purchase[k])) for k in purchase if k.endswith("Amount")}
    assert amounts == {
        "DeliveredAmount": Decimal("200.00"),
        "ReturnedAmount": Decimal("100.00"),
        "RefundedAmount": Decimal("60.00"),
        "ReleasedAmount": Decimal("50.00"),
    }


def test_tran_id_is_idempotent_for_the_same_request_and_unique_otherwise(sandbox, completed):
    item = [{"Description": "Mug", "Amount": "100.00"}]
    for _ in range(2):
        response = commerce(
            sandbox, "PurchaseOrder", ExternalId=completed, TranId="same", Items=item
        )
        assert response.status_code == 200
    assert Decimal(str(sandbox.purchase(completed)["DeliveredAmount"])) == Decimal("100.00")
    reused = commerce(sandbox, "Refund", ExternalId=completed, TranId="same", Amount="1.00")
    assert error_code(reused) == "10007"
    too_long = commerce(sandbox, "Refund", ExternalId=completed, TranId="x" * 37, Amount="1.00")
    assert error_code(too_long) == "10006"


def test_cancel_payment_sets_state_8(sandbox, completed):
    response = commerce(sandbox, "CancelPayment", ExternalId=completed, Reason="customer asked")
    assert response.status_code == 200 and response.content == b""
    assert sandbox.status(completed)["State"] == 8
    assert commerce(sandbox, "CancelPayment", ExternalId=completed).status_code == 200
    item = [{"Amount": "1.00"}]
    after = commerce(sandbox, "PurchaseOrder", ExternalId=completed, TranId="late", Items=item)
    assert error_code(after) == "10010"


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PurchaseOrder", {"Items": [{"Amount": "1.00"}]}),
        ("Refund", {"Amount": "0.50"}),
    ],
)
def test_cancel_payment_is_denied_after_a_delivery_or_refund(sandbox, completed, method, body):
    if method == "Refund":
        commerce(
            sandbox, "PurchaseOrder", ExternalId=completed, TranId="d", Items=[{"Amount": "1"}]
        )
    assert commerce(sandbox, method, ExternalId=completed, TranId="x", **body).status_code == 200
    assert error_code(commerce(sandbox, "CancelPayment", ExternalId=completed)) == "10011"
    assert sandbox.status(completed)["State"] == 2


def test_commerce_needs_a_known_external_id_and_a_completed_purchase(sandbox):
    missing = commerce(sandbox, "Refund", TranId="t", Amount="1.00")
    assert missing.json() == [
        {"ErrorCode": "10005", "ErrorMessage": "Invalid or missing external ID."}
    ]
    assert error_code(commerce(sandbox, "CancelPayment", ExternalId="0" * 32)) == "10005"
    fresh = sandbox.initialize()
    early = commerce(
        sandbox, "PurchaseOrder", ExternalId=fresh, TranId="t", Items=[{"Amount": "1"}]
    )
    assert error_code(early) == "10010"
    bad_amount = commerce(sandbox, "Refund", ExternalId=fresh, TranId="t2", Amount="-1")
    assert error_code(bad_amount) == "10008"


def test_get_on_an_api_method_is_not_a_500(sandbox):
    response = sandbox.http.get(f"{sandbox.base}/CheckOut2Api/GetPaymentStatus", timeout=5)
    assert response.status_code == 405
