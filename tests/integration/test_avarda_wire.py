"""The request bodies, one Commerce method at a time, against Avarda's own examples.

Each client method is called against a stub server and the body it sends is compared,
key by key and number by number, with the example on Avarda's page for that method
(finalize-purchase, ReturnOrder, Refund, RefundRemaining, CancelPayment).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from werkzeug import Request, Response

from shop.avarda import AvardaClient, Item, new_tran_id
from shop.avarda.wire import (
    GetPaymentStatusQueueRequest,
    InitializePayment,
    PurchaseOrder,
    UpdateItems,
    dumps_exact,
)

API = "/CheckOut2/CheckOut2Api/"
PID = "2b152405a841ee7828e2c317712f5d8d"


@pytest.fixture
def sent(httpserver):
    """The raw bodies the stub server received, by path."""
    bodies: dict[str, str] = {}

    def handler(request: Request) -> Response:
        bodies[request.path.removeprefix(API)] = request.get_data(as_text=True)
        return Response("", status=200)

    httpserver.expect_request(re.compile(API + ".*")).respond_with_handler(handler)
    return bodies


@pytest.fixture
def client(httpserver) -> AvardaClient:
    return AvardaClient(httpserver.url_for("/CheckOut2"), "site", "pw")


def exact(text: str) -> object:
    return json.loads(text, parse_float=Decimal)


def test_purchase_order_matches_avardas_example(client, sent):
    client.purchase_order(
        PID,
        tran_id="DD9ACDB9DE28424083BA",
        order_reference="4000124352",
        tracking_code="",
        items=[
            Item(description="Carrey-hybriditakki, naisten, punai", notes="HH854765",
                 amount=Decimal("20.97"), tax_code="24.0000", tax_amount=Decimal("4.06")),
            Item(description="Lester-matkakassi, sininen", notes="HH1001863",
                 amount=Decimal("29.97"), tax_code="24.0000", tax_amount=Decimal("5.8")),
            Item(description="Discount", notes="HH1001863",
                 amount=Decimal("-2.97"), tax_code="24.0000", tax_amount=Decimal("-0.41")),
        ],
    )  # fmt: skip
    assert exact(sent["Commerce/PurchaseOrder"]) == {
        "ExternalId": PID,
        "TranId": "DD9ACDB9DE28424083BA",
        "OrderReference": "4000124352",
        "TrackingCode": "",
        "Items": [
            {"Description": "Carrey-hybriditakki, naisten, punai", "Notes": "HH854765",
             "Amount": Decimal("20.97"), "TaxCode": "24.0000", "TaxAmount": Decimal("4.06")},
            {"Description": "Lester-matkakassi, sininen", "Notes": "HH1001863",
             "Amount": Decimal("29.97"), "TaxCode": "24.0000", "TaxAmount": Decimal("5.8")},
            {"Description": "Discount", "Notes": "HH1001863",
             "Amount": Decimal("-2.97"), "TaxCode": "24.0000", "TaxAmount": Decimal("-0.41")},
        ],
    }  # fmt: skip
    assert '"Amount": -2.97' in sent["Commerce/PurchaseOrder"]


def test_purchase_order_leaves_out_what_was_not_given(client, sent):
    client.purchase_order(
        PID, order_reference="R-1", items=[Item(description="Free gift", amount=Decimal(0))]
    )
    assert exact(sent["Commerce/PurchaseOrder"]) == {
        "ExternalId": PID,
        "OrderReference": "R-1",
        "Items": [{"Description": "Free gift", "Amount": 0, "Notes": ""}],
    }


def test_return_order_matches_avardas_example(client, sent):
    client.return_order(
        "19ac0d1ee909c302d212b4324d9194b5",
        items=[Item(description="Description", notes="Notes", amount=Decimal(1))],
        order_reference="ue12345",
        tran_id="123456",
        tracking_code="123456",
        pos_id="Id123456",
    )
    assert exact(sent["Commerce/ReturnOrder"]) == {
        "ExternalId": "19ac0d1ee909c302d212b4324d9194b5",
        "Items": [{"Description": "Description", "Notes": "Notes", "Amount": 1}],
        "OrderReference": "ue12345",
        "TranId": "123456",
        "TrackingCode": "123456",
        "PosId": "Id123456",
    }


def test_refund_sends_the_exact_amount(client, sent):
    client.refund(PID, order_reference="ue12345", amount=Decimal("249.50"), tran_id="123456")
    assert exact(sent["Commerce/Refund"]) == {
        "ExternalId": PID,
        "OrderReference": "ue12345",
        "Amount": Decimal("249.50"),
        "TranId": "123456",
    }
    assert '"Amount": 249.50' in sent["Commerce/Refund"]


def test_refund_remaining_matches_avardas_example(client, sent):
    client.refund_remaining(
        "19ac0d1ee909c302d212b4324d9194b5", order_reference="ue12345", tran_id="123456"
    )
    assert exact(sent["Commerce/RefundRemaining"]) == {
        "ExternalId": "19ac0d1ee909c302d212b4324d9194b5",
        "TranId": "123456",
        "OrderReference": "ue12345",
    }


def test_cancel_payment_matches_avardas_example(client, sent):
    client.cancel_payment(
        "19ac0d1ee909c302d212b4324d9194b5", reason="I do not want this item anymore."
    )
    assert exact(sent["Commerce/CancelPayment"]) == {
        "ExternalId": "19ac0d1ee909c302d212b4324d9194b5",
        "Reason": "I do not want this item anymore.",
    }


def test_update_items_always_sends_the_order_reference(client, sent):
    item = Item(description="Mug", amount=Decimal("149.00"), tax_code="25",
                tax_amount=Decimal("29.80"))  # fmt: skip
    client.update_items(PID, price=Decimal("149.00"), items=[item], order_reference="260101-AB")
    assert exact(sent["UpdateItems"]) == {
        "PurchaseId": PID,
        "Price": Decimal("149.00"),
        "OrderReference": "260101-AB",
        "Items": [{"Description": "Mug", "Amount": Decimal("149.00"), "TaxCode": "25",
                   "TaxAmount": Decimal("29.80"), "Notes": ""}],
    }  # fmt: skip


def test_a_tran_id_is_a_fresh_guid_within_avardas_limit():
    ids = {new_tran_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", t) for t in ids)


@pytest.mark.parametrize(
    "fields",
    [
        {"order_reference": ""},
        {"items": []},
        {"tran_id": "t" * 37},
        {"external_id": "19AC0D1EE909C302D212B4324D9194B5"},
        {"surprise": 1},
    ],
)
def test_commerce_requests_refuse_what_avarda_would(fields):
    base = {"external_id": PID, "order_reference": "R", "items": [Item(description="x",
            amount=Decimal(1))]}  # fmt: skip
    with pytest.raises(ValueError):
        PurchaseOrder(**{**base, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"phone": "0701 234 567 890 123"},
        {"mail": "a" * 55 + "@b.com"},
        {"invoicing_city": "C" * 41},
        {"description": "d" * 4001},
        {"user_language_code": "de-DE"},
        {"price": Decimal("300.00")},
        {"price": 298.0},
    ],
)
def test_initialize_payment_checks_avardas_limits(fields):
    item = Item(description="Mug", amount=Decimal("298.00"))
    base = {"price": Decimal("298.00"), "items": [item], "user_language_code": "en-US"}
    with pytest.raises(ValueError):
        InitializePayment(**{**base, **fields})


def test_initialize_payment_counts_phone_digits_without_white_space():
    item = Item(description="Mug", amount=Decimal("298.00"))
    request = InitializePayment(
        price=Decimal("298.00"),
        items=[item],
        user_language_code="fi-FI",
        phone="+46 70 123 45 67 89",
        use_different_delivery_address=True,
    )
    body = exact(request.to_json())
    assert body["Phone"] == "+46 70 123 45 67 89" and body["UseDifferentDeliveryAddress"] is True


def test_item_texts_are_cut_to_avardas_35_characters():
    item = Item(description="D" * 50, notes="N" * 50, amount=Decimal("1.00"))
    assert item.to_wire()["Description"] == "D" * 35 and item.to_wire()["Notes"] == "N" * 35


def test_update_items_needs_its_order_reference():
    with pytest.raises(ValueError):
        UpdateItems(purchase_id=PID, price=Decimal(1), items=[Item(description="x",
                    amount=Decimal(1))])  # type: ignore[call-arg]  # fmt: skip


def test_status_queue_needs_exactly_one_starting_point():
    with pytest.raises(ValueError):
        GetPaymentStatusQueueRequest()
    with pytest.raises(ValueError):
        GetPaymentStatusQueueRequest(purchase_id=PID, start_date="2026-11-01 12:00:00")


def test_dumps_exact_never_goes_through_a_float():
    assert dumps_exact({"A": Decimal("0.10000000000000001"), "B": [Decimal("-1.50")]}) == (
        '{"A": 0.10000000000000001, "B": [-1.50]}'
    )
