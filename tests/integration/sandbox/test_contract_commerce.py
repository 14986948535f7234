"""Contract: the Commerce calls as Avarda documents them (finalize-purchase and the Commerce
API pages), with Avarda's own example bodies, and the amounts the admin API shows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

#: Avarda's PurchaseOrder example (finalize-purchase): a rebate row, TaxCode "24.0000",
#: an empty TrackingCode. The ExternalId is replaced by a purchase of the test.
AVARDA_PURCHASE_ORDER = {
    "ExternalId": "2b152405a841ee7828e2c317712f5d8d",
    "TranId": "DD9ACDB9DE28424083BA",
    "OrderReference": "4000124352",
    "TrackingCode": "",
    "Items": [
        {
            "Description": "Carrey-hybriditakki, naisten, punai",
            "Notes": "HH854765",
            "Amount": 20.97,
            "TaxCode": "24.0000",
            "TaxAmount": 4.06,
        },
        {
            "Description": "Lester-matkakassi, sininen",
            "Notes": "HH1001863",
            "Amount": 29.97,
            "TaxCode": "24.0000",
            "TaxAmount": 5.8,
        },
        {
            "Description": "Discount",
            "Notes": "HH1001863",
            "Amount": -2.97,
            "TaxCode": "24.0000",
            "TaxAmount": -0.41,
        },
    ],
}
AVARDA_PURCHASE_ORDER_TOTAL = Decimal("47.97")
#: Avarda's ReturnOrder example: TrackingCode and PosId too.
AVARDA_RETURN_ORDER = {
    "ExternalId": "19ac0d1ee909c302d212b4324d9194b5",
    "Items": [{"Description": "Description", "Notes": "Notes", "Amount": 1}],
    "OrderReference": "ue12345",
    "TranId": "123456",
    "TrackingCode": "123456",
    "PosId": "Id123456",
}
AVARDA_REFUND_REMAINING = {
    "ExternalId": "19ac0d1ee909c302d212b4324d9194b5",
    "TranId": "123456",
    "OrderReference": "ue12345",
}
AVARDA_CANCEL_PAYMENT = {
    "ExternalId": "19ac0d1ee909c302d212b4324d9194b5",
    "Reason": "I do not want this item anymore.",
}
AVARDA_INVALID_EXTERNAL_ID = [
    {"ErrorCode": "10005", "ErrorMessage": "Invalid or missing external ID."}
]
CANCEL_DENIED = (
    "CancelAuthorization denied – PurchaseOrder, ReturnOrder or RefundOrder was already called"
)
AMOUNT_KEYS = [
    "AuthorizedAmount",
    "DeliveredAmount",
    "ReturnedAmount",
    "RefundedAmount",
    "ReleasedAmount",
    "RemainingAmount",
    "DeliverableAmount",
    "RefundableAmount",
]


def call(sandbox, method: str, body: dict[str, Any], **changes: Any):
    return sandbox.api(f"Commerce/{method}", body | changes)


def ok(response) -> None:
    assert (response.status_code, response.content) == (200, b""), response.text


def errors(response) -> list[tuple[str, str]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert isinstance(body, list) and body
    assert all(set(e) == {"ErrorCode", "ErrorMessage"} for e in body)
    return [(e["ErrorCode"], e["ErrorMessage"]) for e in body]


def codes(response) -> list[str]:
    return [code for code, _message in errors(response)]


def amounts(sandbox, purchase_id: str) -> dict[str, Decimal]:
    purchase = sandbox.purchase(purchase_id)
    return {key: Decimal(str(purchase[key])) for key in AMOUNT_KEYS}


def deliver(amount: str, **changes: Any) -> dict[str, Any]:
    return {"OrderReference": "260501-ABCD", "Items": [{"Amount": amount}]} | changes


@pytest.fixture
def paid(sandbox):
    """``paid(method="Invoice", price="100.00") -> purchase id``, completed."""

    def make(method: str = "Invoice", price: str = "100.00") -> str:
        purchase_id = sandbox.initialize(price)
        sandbox.complete(purchase_id, method)
        return purchase_id

    return make


def test_avardas_purchase_order_example_delivers_its_total(sandbox, paid):
    purchase_id = paid()
    ok(call(sandbox, "PurchaseOrder", AVARDA_PURCHASE_ORDER, ExternalId=purchase_id))
    assert amounts(sandbox, purchase_id) == {
        "AuthorizedAmount": Decimal("100.00"),
        "DeliveredAmount": AVARDA_PURCHASE_ORDER_TOTAL,
        "ReturnedAmount": Decimal("0"),
        "RefundedAmount": Decimal("0"),
        "ReleasedAmount": Decimal("0"),
        "RemainingAmount": Decimal("52.03"),
        "DeliverableAmount": Decimal("62.03"),  # Invoice: +10 % of 100.00
        "RefundableAmount": AVARDA_PURCHASE_ORDER_TOTAL,
    }
    [transaction] = sandbox.purchase(purchase_id)["transactions"]
    assert transaction["kind"] == "PurchaseOrder"
    assert transaction["tran_id"] == "DD9ACDB9DE28424083BA"
    assert transaction["order_reference"] == "4000124352"
    assert transaction["tracking_code"] is None  # "" is no tracking code


def test_external_id_order_reference_and_items_are_required(sandbox, paid):
    purchase_id = paid()
    missing_id = {k: v for k, v in AVARDA_PURCHASE_ORDER.items() if k != "ExternalId"}
    assert call(sandbox, "PurchaseOrder", missing_id).json() == AVARDA_INVALID_EXTERNAL_ID
    unknown = call(sandbox, "PurchaseOrder", AVARDA_PURCHASE_ORDER)  # not this site's id
    assert unknown.json() == AVARDA_INVALID_EXTERNAL_ID
    body = AVARDA_PURCHASE_ORDER | {"ExternalId": purchase_id}
    no_reference = {k: v for k, v in body.items() if k != "OrderReference"}
    assert errors(call(sandbox, "PurchaseOrder", no_reference)) == [
        ("10012", "OrderReference is required.")
    ]
    assert codes(call(sandbox, "PurchaseOrder", body, OrderReference="")) == ["10012"]
    assert codes(call(sandbox, "PurchaseOrder", body, OrderReference="x" * 21)) == ["10012"]
    no_items = {k: v for k, v in body.items() if k != "Items"}
    assert errors(call(sandbox, "PurchaseOrder", no_items)) == [("10008", "Items is required.")]
    assert codes(call(sandbox, "PurchaseOrder", body, Items=[])) == ["10008"]
    everything_wrong = {"TranId": "t" * 37, "Items": "all"}
    assert codes(call(sandbox, "PurchaseOrder", everything_wrong)) == [
        "10005",
        "10012",
        "10006",
        "10008",
    ]
    for method in ("ReturnOrder", "Refund", "RefundRemaining"):
        response = call(sandbox, method, {"ExternalId": purchase_id, "Amount": "1.00"})
        assert ("10012", "OrderReference is required.") in errors(response), method
    assert amounts(sandbox, purchase_id)["DeliveredAmount"] == 0


def test_tran_id_is_optional_and_each_call_without_one_is_applied(sandbox, paid):
    purchase_id = paid()
    body = deliver("10.00", ExternalId=purchase_id)
    ok(call(sandbox, "PurchaseOrder", body))
    ok(call(sandbox, "PurchaseOrder", body, TranId=""))  # Avarda's default: none
    assert amounts(sandbox, purchase_id)["DeliveredAmount"] == Decimal("20.00")


def test_a_repeated_tran_id_with_the_same_body_changes_nothing(sandbox, paid):
    purchase_id = paid()
    body = AVARDA_PURCHASE_ORDER | {"ExternalId": purchase_id}
    for _ in range(3):
        ok(call(sandbox, "PurchaseOrder", body))
    assert amounts(sandbox, purchase_id)["DeliveredAmount"] == AVARDA_PURCHASE_ORDER_TOTAL
    assert len(sandbox.purchase(purchase_id)["transactions"]) == 1
    as_strings = body | {"Items": [i | {"Amount": str(i["Amount"])} for i in body["Items"]]}
    ok(call(sandbox, "PurchaseOrder", as_strings))  # the same request, other spelling


def test_a_tran_id_reused_for_another_request_is_an_error(sandbox, paid):
    purchase_id, other = paid(), paid()
    ok(call(sandbox, "PurchaseOrder", deliver("10.00", ExternalId=purchase_id, TranId="T-1")))
    for changed in (
        deliver("11.00", ExternalId=purchase_id, TranId="T-1"),
        deliver("10.00", ExternalId=other, TranId="T-1"),
        {"ExternalId": purchase_id, "OrderReference": "260501-ABCD", "TranId": "T-1"},
    ):
        method = "RefundRemaining" if "Items" not in changed else "PurchaseOrder"
        assert codes(call(sandbox, method, changed)) == ["10007"]
    assert amounts(sandbox, purchase_id)["DeliveredAmount"] == Decimal("10.00")
    assert amounts(sandbox, other)["DeliveredAmount"] == 0
    too_long = deliver("1.00", ExternalId=purchase_id, TranId="t" * 37)
    assert codes(call(sandbox, "PurchaseOrder", too_long)) == ["10006"]
    guid = deliver("1.00", ExternalId=purchase_id, TranId="3F2504E0-4F89-11D3-9A0C-0305E82C3301")
    ok(call(sandbox, "PurchaseOrder", guid))  # 36 characters


def test_part_deliveries_with_different_order_references(sandbox, paid):
    purchase_id = paid(price="250.00")
    ok(call(sandbox, "PurchaseOrder", deliver("100.00", ExternalId=purchase_id, TranId="a")))
    second = deliver("150.00", ExternalId=purchase_id, OrderReference="260501-EFGH")
    ok(call(sandbox, "PurchaseOrder", second | {"TrackingCode": "JJD0099", "PosId": "POS-7"}))
    transactions = sandbox.purchase(purchase_id)["transactions"]
    assert [(t["order_reference"], t["tracking_code"]) for t in transactions] == [
        ("260501-ABCD", None),
        ("260501-EFGH", "JJD0099"),
    ]
    assert amounts(sandbox, purchase_id)["RemainingAmount"] == 0
    too_long_pos = deliver("1.00", ExternalId=purchase_id, PosId="p" * 33)
    assert codes(call(sandbox, "PurchaseOrder", too_long_pos)) == ["10012"]


def test_rebate_rows_while_the_total_is_positive_and_zero_rows(sandbox, paid):
    purchase_id = paid()
    rows = [{"Amount": "30.00"}, {"Description": "Free gift", "Amount": 0}, {"Amount": "-5.00"}]
    ok(call(sandbox, "PurchaseOrder", deliver("0", ExternalId=purchase_id, Items=rows)))
    assert amounts(sandbox, purchase_id)["DeliveredAmount"] == Decimal("25.00")
    for total_not_positive in ([{"Amount": "5"}, {"Amount": "-5"}], [{"Amount": 0}]):
        body = deliver("0", ExternalId=purchase_id, Items=total_not_positive)
        [(code, message)] = errors(call(sandbox, "PurchaseOrder", body))
        assert code == "10008" and message.startswith("Items must add up to a positive amount")


@pytest.mark.parametrize("method", ["Invoice", "Loan", "PartPayment"])
def test_credit_methods_may_be_delivered_above_the_authorized_amount_within_10_percent(
    sandbox, paid, method
):
    purchase_id = paid(method, "100.00")
    ok(call(sandbox, "PurchaseOrder", deliver("100.00", ExternalId=purchase_id)))
    ok(call(sandbox, "PurchaseOrder", deliver("9.99", ExternalId=purchase_id)))
    over = call(sandbox, "PurchaseOrder", deliver("0.02", ExternalId=purchase_id))
    assert codes(over) == ["10009"]
    ok(call(sandbox, "PurchaseOrder", deliver("0.01", ExternalId=purchase_id)))
    got = amounts(sandbox, purchase_id)
    assert (got["DeliveredAmount"], got["DeliverableAmount"]) == (Decimal("110.00"), 0)


@pytest.mark.parametrize("method", ["Card", "DirectPayment"])
def test_prepaid_methods_are_never_delivered_above_the_authorized_amount(sandbox, paid, method):
    purchase_id = paid(method, "100.00")
    assert codes(call(sandbox, "PurchaseOrder", deliver("100.01", ExternalId=purchase_id))) == [
        "10009"
    ]
    ok(call(sandbox, "PurchaseOrder", deliver("100.00", ExternalId=purchase_id)))
    assert codes(call(sandbox, "PurchaseOrder", deliver("0.01", ExternalId=purchase_id))) == [
        "10009"
    ]
    assert amounts(sandbox, purchase_id)["DeliveredAmount"] == Decimal("100.00")


def test_return_refund_and_refund_remaining_with_avardas_examples(sandbox, paid):
    purchase_id = paid(price="250.00")
    ok(call(sandbox, "PurchaseOrder", deliver("100.00", ExternalId=purchase_id, TranId="d1")))
    ok(call(sandbox, "ReturnOrder", AVARDA_RETURN_ORDER, ExternalId=purchase_id, TranId="r-1"))
    refund = {"ExternalId": purchase_id, "OrderReference": "260501-ABCD", "Amount": "60.00"}
    ok(call(sandbox, "Refund", refund))
    too_much = call(sandbox, "Refund", refund, Amount="39.01")  # 100 - 1 - 60 = 39 left
    assert codes(too_much) == ["10009"]
    assert codes(call(sandbox, "Refund", refund, Amount="0")) == ["10008"]
    assert codes(call(sandbox, "Refund", refund, Amount="-1")) == ["10008"]
    ok(call(sandbox, "RefundRemaining", AVARDA_REFUND_REMAINING, ExternalId=purchase_id))
    again = call(sandbox, "RefundRemaining", AVARDA_REFUND_REMAINING, ExternalId=purchase_id)
    ok(again)  # the same TranId and body: a harmless repeat
    nothing_left = AVARDA_REFUND_REMAINING | {"ExternalId": purchase_id, "TranId": "other"}
    assert codes(call(sandbox, "RefundRemaining", nothing_left)) == ["10009"]
    after_release = call(sandbox, "PurchaseOrder", deliver("1.00", ExternalId=purchase_id))
    assert codes(after_release) == ["10009"]
    assert amounts(sandbox, purchase_id) == {
        "AuthorizedAmount": Decimal("250.00"),
        "DeliveredAmount": Decimal("100.00"),
        "ReturnedAmount": Decimal("1.00"),
        "RefundedAmount": Decimal("60.00"),
        "ReleasedAmount": Decimal("150.00"),
        "RemainingAmount": Decimal("0"),
        "DeliverableAmount": Decimal("0"),
        "RefundableAmount": Decimal("39.00"),
    }
    kinds = [t["kind"] for t in sandbox.purchase(purchase_id)["transactions"]]
    assert kinds == ["PurchaseOrder", "ReturnOrder", "Refund", "RefundRemaining"]


def test_commerce_needs_a_completed_purchase(sandbox):
    fresh = sandbox.initialize()
    assert codes(call(sandbox, "PurchaseOrder", deliver("1.00", ExternalId=fresh))) == ["10010"]
    waiting = sandbox.initialize()
    sandbox.complete(waiting, "Card", Step="wait")
    assert codes(call(sandbox, "PurchaseOrder", deliver("1.00", ExternalId=waiting))) == ["10010"]


def test_cancel_payment_with_avardas_example_sets_state_8(sandbox, paid):
    purchase_id = paid()
    ok(call(sandbox, "CancelPayment", AVARDA_CANCEL_PAYMENT, ExternalId=purchase_id))
    purchase = sandbox.purchase(purchase_id)
    assert purchase["State"] == 8
    assert purchase["CancelReason"] == "I do not want this item anymore."
    assert purchase["RemainingAmount"] == 0 and purchase["DeliverableAmount"] == 0
    ok(call(sandbox, "CancelPayment", AVARDA_CANCEL_PAYMENT, ExternalId=purchase_id))
    assert codes(call(sandbox, "PurchaseOrder", deliver("1.00", ExternalId=purchase_id))) == [
        "10010"
    ]


def test_cancel_payment_needs_a_reason_and_an_authorization(sandbox, paid):
    purchase_id = paid()
    assert errors(call(sandbox, "CancelPayment", {"ExternalId": purchase_id})) == [
        ("10012", "Reason is required.")
    ]
    assert codes(call(sandbox, "CancelPayment", {"ExternalId": purchase_id, "Reason": " "})) == [
        "10012"
    ]
    unknown = call(sandbox, "CancelPayment", AVARDA_CANCEL_PAYMENT)
    assert unknown.json() == AVARDA_INVALID_EXTERNAL_ID
    fresh = sandbox.initialize()
    body = AVARDA_CANCEL_PAYMENT | {"ExternalId": fresh}
    assert errors(call(sandbox, "CancelPayment", body)) == [("10010", "No authorization found")]
    assert sandbox.status(purchase_id)["State"] == 2 and sandbox.status(fresh)["State"] == 0


@pytest.mark.parametrize("after", ["PurchaseOrder", "ReturnOrder", "Refund"])
def test_cancel_payment_is_denied_once_a_delivery_return_or_refund_was_called(sandbox, paid, after):
    purchase_id = paid()
    ok(call(sandbox, "PurchaseOrder", deliver("10.00", ExternalId=purchase_id)))
    if after == "ReturnOrder":
        ok(call(sandbox, "ReturnOrder", deliver("10.00", ExternalId=purchase_id)))
    elif after == "Refund":
        body = {"ExternalId": purchase_id, "OrderReference": "x", "Amount": "10.00"}
        ok(call(sandbox, "Refund", body))
    body = AVARDA_CANCEL_PAYMENT | {"ExternalId": purchase_id}
    assert errors(call(sandbox, "CancelPayment", body)) == [("10011", CANCEL_DENIED)]
    assert sandbox.status(purchase_id)["State"] == 2


def test_cancel_payment_after_refund_remaining_alone_is_allowed(sandbox, paid):
    purchase_id = paid()
    ok(call(sandbox, "RefundRemaining", AVARDA_REFUND_REMAINING, ExternalId=purchase_id))
    ok(call(sandbox, "CancelPayment", AVARDA_CANCEL_PAYMENT, ExternalId=purchase_id))
    assert sandbox.status(purchase_id)["State"] == 8


def test_malformed_json_is_a_commerce_error(sandbox):
    from tests.integration.sandbox.support import SITE_CODE, SITE_PASSWORD

    response = sandbox.http.post(
        f"{sandbox.base}/CheckOut2Api/Commerce/PurchaseOrder",
        data=b"{not json",
        auth=(SITE_CODE, SITE_PASSWORD),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert errors(response) == [("10012", "The request body is not valid JSON.")]
    assert errors(sandbox.api("Commerce/Refund", [1])) == [
        ("10012", "The request body must be a JSON object.")
    ]
