"""The Avarda client against a real HTTP server (pytest-httpserver)."""

from __future__ import annotations

import base64
import json
import socket
from decimal import Decimal

import pytest
from werkzeug import Request, Response

from shop.avarda import (
    AvardaAuthError,
    AvardaClient,
    AvardaProtocolError,
    AvardaRefused,
    AvardaUnavailable,
    Item,
    PurchaseState,
)

PID = "19ac0d1ee909c302d212b4324d9194b5"
AUTH = "Basic " + base64.b64encode(b"site:pw").decode()


@pytest.fixture
def client(httpserver) -> AvardaClient:
    return AvardaClient(httpserver.url_for("/CheckOut2"), "site", "pw", timeout=2, status_timeout=1)


def test_initialize_payment_sends_exact_amounts_and_basic_auth(httpserver, client):
    seen: dict = {}

    def handler(request: Request) -> Response:
        seen["auth"] = request.headers.get("Authorization")
        seen["body"] = request.get_data(as_text=True)
        return Response(json.dumps(PID), content_type="application/json")

    httpserver.expect_request(
        "/CheckOut2/CheckOut2Api/InitializePayment", method="POST"
    ).respond_with_handler(handler)
    items = [Item("Mug", Decimal("298.00"), "25", Decimal("59.60"), notes="MUG-01 x 2")]

    assert client.initialize_payment(Decimal("298.00"), items, "260101-ABCDEF") == PID

    assert seen["auth"] == AUTH
    assert '"Price": 298.00' in seen["body"] and '"TaxAmount": 59.60' in seen["body"]
    body = json.loads(seen["body"], parse_float=Decimal)
    assert body["OrderReference"] == "260101-ABCDEF"
    assert body["Items"][0]["TaxCode"] == "25"


def test_get_payment_status_parses_the_purchase(httpserver, client):
    expected = httpserver.expect_request(
        "/CheckOut2/CheckOut2Api/GetPaymentStatus", json={"PurchaseId": PID}
    )
    expected.respond_with_data(
        json.dumps(
            {
                "PurchaseId": PID, "State": 2, "PaymentMethod": 3, "Price": 149.5,
                "Completed": "2026-11-24T12:00:00", "OrderReference": "X", "Mail": "a@b.se",
                "InvoicingFirstName": "Anna", "CountryCode": "SE",
            }
        ),
        content_type="application/json",
    )  # fmt: skip
    status = client.get_payment_status(PID)
    assert status.state is PurchaseState.COMPLETED and status.is_completed
    assert status.price == Decimal("149.5") and status.payment_method == 3
    assert status.customer.email == "a@b.se" and status.customer.first_name == "Anna"


@pytest.mark.parametrize(
    "status, body, error",
    [
        (401, "", AvardaAuthError),
        (
            400,
            json.dumps({"CheckOutErrorCode": 7, "Errors": ["Purchase is not editable"]}),
            AvardaRefused,
        ),
        (
            400,
            json.dumps([{"ErrorCode": "10005", "ErrorMessage": "Invalid external ID."}]),
            AvardaRefused,
        ),
        (500, "boom", AvardaUnavailable),
        (503, "", AvardaUnavailable),
        (302, "", AvardaProtocolError),
        (200, "not json", AvardaProtocolError),
        (200, json.dumps({"PurchaseId": "0" * 32, "State": 2}), AvardaProtocolError),
        (200, json.dumps({"PurchaseId": PID, "State": "2"}), AvardaProtocolError),
        (200, json.dumps([1]), AvardaProtocolError),
    ],
)
def test_errors_are_typed(httpserver, client, status, body, error):
    httpserver.expect_request("/CheckOut2/CheckOut2Api/GetPaymentStatus").respond_with_data(
        body, status=status
    )
    with pytest.raises(error) as info:
        client.get_payment_status(PID)
    assert "pw" not in str(info.value)


def test_refusal_carries_code_and_messages(httpserver, client):
    httpserver.expect_request("/CheckOut2/CheckOut2Api/UpdateItems").respond_with_json(
        {"CheckOutErrorCode": 7, "Errors": ["Purchase is not editable"]}, status=400
    )
    with pytest.raises(AvardaRefused) as info:
        client.update_items(
            PID, Decimal("1.00"), [Item("x", Decimal("1.00"), "25", Decimal("0.20"))]
        )
    assert info.value.code == 7 and info.value.errors == ["Purchase is not editable"]


def test_initialize_payment_rejects_a_malformed_id(httpserver, client):
    httpserver.expect_request("/CheckOut2/CheckOut2Api/InitializePayment").respond_with_json(
        "not-an-id"
    )
    with pytest.raises(AvardaProtocolError):
        client.initialize_payment(Decimal("1.00"), [], "R")


def test_status_queue(httpserver, client):
    httpserver.expect_request(
        "/CheckOut2/CheckOut2Api/GetPaymentStatusQueue",
        json={"Offset": 0, "PageSize": 100, "PurchaseId": PID},
    ).respond_with_json(["a" * 32, "b" * 32])
    assert client.get_payment_status_queue(after_purchase_id=PID) == ["a" * 32, "b" * 32]


def test_a_silent_server_times_out_as_unavailable():
    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        client = AvardaClient(f"http://127.0.0.1:{port}/CheckOut2", "s", "p", status_timeout=0.2)
        with pytest.raises(AvardaUnavailable, match="in time"):
            client.get_payment_status(PID)


def test_connection_refused_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = AvardaClient(f"http://127.0.0.1:{port}/CheckOut2", "s", "p")
    with pytest.raises(AvardaUnavailable):
        client.get_payment_status(PID)


@pytest.mark.parametrize("key", ["timeout", "status_timeout"])
@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf")])
def test_timeouts_must_be_positive_and_finite(key, value):
    with pytest.raises(ValueError, match=key):
        AvardaClient("http://127.0.0.1:9/CheckOut2", "s", "p", **{key: value})


def test_an_explicit_timeout_is_never_replaced_by_the_default(httpserver, client):
    """``timeout or default`` would quietly use the default for 0."""
    httpserver.expect_request("/CheckOut2/CheckOut2Api/GetPaymentStatus").respond_with_json({})
    with pytest.raises(ValueError, match="timeout"):
        client.get_payment_status(PID, timeout=0)
    assert httpserver.log == []


def test_repr_hides_the_password():
    assert "secret" not in repr(AvardaClient("http://x/CheckOut2", "site", "secret"))
