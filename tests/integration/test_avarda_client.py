"""The Avarda client against a real HTTP server (pytest-httpserver) answering in every
variant the client must tolerate, and in the ones it must refuse."""

from __future__ import annotations

import base64
import json
import socket
import threading
from decimal import Decimal

import pytest
from werkzeug import Request, Response

from shop.avarda import (
    AvardaAuthError,
    AvardaCheckoutRefused,
    AvardaClient,
    AvardaCommerceRefused,
    AvardaNotSent,
    AvardaOutcomeUnknown,
    AvardaProtocolError,
    AvardaRefused,
    AvardaTimeout,
    AvardaUnavailable,
    InitializePayment,
    Item,
    PaymentMethod,
    PurchaseState,
    Unrecognized,
)

PID = "19ac0d1ee909c302d212b4324d9194b5"
AUTH = "Basic " + base64.b64encode(b"site:pw").decode()
API = "/CheckOut2/CheckOut2Api/"
MUG = Item(description="Mug", notes="MUG-01 x 2", amount=Decimal("298.00"), tax_code="25",
           tax_amount=Decimal("59.60"))  # fmt: skip


@pytest.fixture
def client(httpserver) -> AvardaClient:
    return AvardaClient(httpserver.url_for("/CheckOut2"), "site", "pw", timeout=2, status_timeout=1)


def answer_status(httpserver, body: object, status: int = 200) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    httpserver.expect_request(API + "GetPaymentStatus").respond_with_data(
        text, status=status, content_type="application/json"
    )


# -- InitializePayment ----------------------------------------------------------------------


def test_initialize_payment_sends_exact_amounts_language_and_basic_auth(httpserver, client):
    seen: dict = {}

    def handler(request: Request) -> Response:
        seen["auth"] = request.headers.get("Authorization")
        seen["type"] = request.headers.get("Content-Type")
        seen["body"] = request.get_data(as_text=True)
        return Response(json.dumps(PID), content_type="application/json")

    httpserver.expect_request(API + "InitializePayment", method="POST").respond_with_handler(
        handler
    )
    request = InitializePayment(
        price=Decimal("298.00"), items=[MUG], order_reference="260101-ABCDEF",
        user_language_code="sv-SE", mail="anna@example.com",
    )  # fmt: skip

    assert client.initialize_payment(request) == PID

    assert seen["auth"] == AUTH and seen["type"] == "application/json"
    assert '"Price": 298.00' in seen["body"] and '"TaxAmount": 59.60' in seen["body"]
    assert json.loads(seen["body"], parse_float=Decimal) == {
        "Price": Decimal("298.00"),
        "Items": [
            {"Description": "Mug", "Notes": "MUG-01 x 2", "Amount": Decimal("298.00"),
             "TaxCode": "25", "TaxAmount": Decimal("59.60")}
        ],
        "UserLanguageCode": "sv-SE",
        "OrderReference": "260101-ABCDEF",
        "Mail": "anna@example.com",
    }  # fmt: skip


@pytest.mark.parametrize("body", ['"not-an-id"', '"' + PID.upper() + '"', "{}", "", "[]"])
def test_initialize_payment_refuses_anything_but_a_purchase_id(httpserver, client, body):
    httpserver.expect_request(API + "InitializePayment").respond_with_data(body)
    with pytest.raises(AvardaProtocolError, match="purchase id"):
        client.initialize_payment(
            InitializePayment(price=Decimal("298.00"), items=[MUG], user_language_code="en-US")
        )


def test_initialize_payment_accepts_a_bare_id_without_json_quotes(httpserver, client):
    httpserver.expect_request(API + "InitializePayment").respond_with_data(PID + "\r\n")
    request = InitializePayment(price=Decimal("298.00"), items=[MUG], user_language_code="en-US")
    assert client.initialize_payment(request) == PID


# -- GetPaymentStatus: tolerated variants -----------------------------------------------------


def test_get_payment_status_reads_every_documented_field(httpserver, client):
    answer_status(
        httpserver,
        {
            "PurchaseId": PID, "State": 2, "PaymentMethod": 3, "Price": 149.5,
            "Completed": "2026-11-24T12:00:00", "OrderReference": "X", "Mail": "a@b.se",
            "Phone": "070 123 45 67", "CountryCode": "SE", "CustomerToken": "tok",
            "InvoicingFirstName": "Anna", "InvoicingLastName": "Andersson",
            "InvoicingAddressLine1": "Storgatan 1", "InvoicingAddressLine2": None,
            "InvoicingZip": "11122", "InvoicingCity": "Stockholm",
            "UseDifferentDeliveryAddress": True,
            "DeliveryFirstName": "Bo", "DeliveryLastName": "Berg",
            "DeliveryAddressLine1": "Lillgatan 2", "DeliveryAddressLine2": "c/o Berg",
            "DeliveryZip": "41301", "DeliveryCity": "Göteborg",
        },
    )  # fmt: skip
    status = client.get_payment_status(PID)

    assert status.state is PurchaseState.COMPLETED and status.is_completed
    assert status.payment_method is PaymentMethod.DIRECT_PAYMENT
    assert status.price == Decimal("149.5") and status.order_reference == "X"
    assert status.completed == "2026-11-24T12:00:00"
    assert status.customer.email == "a@b.se" and status.customer.country == "SE"
    assert status.invoicing.first_name == "Anna" and status.invoicing.city == "Stockholm"
    assert status.invoicing.address_line2 is None
    assert status.use_different_delivery_address is True
    assert status.delivery is not None
    assert (status.delivery.first_name, status.delivery.address_line2, status.delivery.city) == (
        "Bo", "c/o Berg", "Göteborg",
    )  # fmt: skip


def test_without_a_separate_address_delivery_is_none_and_invoicing_is_kept(httpserver, client):
    answer_status(
        httpserver,
        {"PurchaseId": PID, "State": 2, "InvoicingCity": "Stockholm",
         "UseDifferentDeliveryAddress": False, "DeliveryFirstName": None, "DeliveryCity": ""},
    )  # fmt: skip
    status = client.get_payment_status(PID)
    assert status.delivery is None and status.use_different_delivery_address is False
    assert status.invoicing.city == "Stockholm"


def test_numbers_as_strings_mean_the_same_numbers(httpserver, client):
    answer_status(
        httpserver,
        {"PurchaseId": PID, "State": "2", "PaymentMethod": "0", "Price": "249.00",
         "UseDifferentDeliveryAddress": "false", "InvoicingZip": 11122},
    )  # fmt: skip
    status = client.get_payment_status(PID)
    assert status.state is PurchaseState.COMPLETED
    assert status.payment_method is PaymentMethod.INVOICE
    assert status.price == Decimal("249.00") and str(status.price) == "249.00"
    assert status.use_different_delivery_address is False
    assert status.invoicing.zip == "11122"


def test_a_price_is_never_rounded_through_a_float(httpserver, client):
    answer_status(
        httpserver, f'{{"PurchaseId": "{PID}", "State": 2, "Price": 0.10000000000000001}}'
    )
    assert client.get_payment_status(PID).price == Decimal("0.10000000000000001")


def test_extra_fields_are_ignored(httpserver, client):
    answer_status(
        httpserver,
        {"PurchaseId": PID, "State": 1, "NewField": {"nested": [1, 2]}, "Another": None},
    )
    status = client.get_payment_status(PID)
    assert status.state is PurchaseState.BEING_PROCESSED and status.payment_method is None


@pytest.mark.parametrize(
    "state, raw",
    [(10, "10"), ("42", "42"), ("Completed", "Completed"), (2.5, "2.5"), (True, "true")],
)
def test_an_unknown_state_is_returned_with_its_raw_value(httpserver, client, state, raw):
    answer_status(httpserver, {"PurchaseId": PID, "State": state, "PaymentMethod": 0})
    status = client.get_payment_status(PID)
    assert status.state == Unrecognized("State", raw)
    assert not status.is_completed and not status.is_dead and not status.is_recognised
    assert status.state_label == f"State {raw}"


@pytest.mark.parametrize("method, raw", [(10, "10"), ("77", "77"), ("Klarna", "Klarna")])
def test_an_unknown_payment_method_is_returned_with_its_raw_value(httpserver, client, method, raw):
    answer_status(httpserver, {"PurchaseId": PID, "State": 2, "PaymentMethod": method})
    status = client.get_payment_status(PID)
    assert status.is_completed and status.payment_method == Unrecognized("PaymentMethod", raw)
    assert status.payment_method_label == f"Method {raw}" and not status.is_recognised


def test_avardas_own_unknown_method_and_legacy_methods_are_recognised(httpserver, client):
    answer_status(httpserver, {"PurchaseId": PID, "State": 2, "PaymentMethod": 99})
    assert client.get_payment_status(PID).payment_method is PaymentMethod.UNKNOWN


@pytest.mark.parametrize(
    "body, problem",
    [
        ({"PurchaseId": PID}, "State"),
        ({"PurchaseId": PID, "State": None}, "State"),
        ({"PurchaseId": PID, "State": 2, "Price": "249,00"}, "Price"),
        ({"PurchaseId": PID, "State": 2, "Price": "NaN"}, "Price"),
        ({"PurchaseId": PID, "State": 2, "Mail": ["a@b.se"]}, "Mail"),
        ({"PurchaseId": "0" * 32, "State": 2}, "another purchase"),
        ([1], "object"),
        ("not json", "object"),
    ],
)
def test_an_answer_without_meaning_is_a_protocol_error(httpserver, client, body, problem):
    answer_status(httpserver, body)
    with pytest.raises(AvardaProtocolError, match=problem) as info:
        client.get_payment_status(PID)
    assert "249,00" not in str(info.value) and "a@b.se" not in str(info.value)


def test_duplicate_keys_and_nan_are_not_guessed_at(httpserver, client):
    answer_status(httpserver, f'{{"PurchaseId": "{PID}", "State": 2, "State": 3}}')
    with pytest.raises(AvardaProtocolError):
        client.get_payment_status(PID)


# -- calls that return nothing ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body", [(200, ""), (204, ""), (202, ""), (200, "{}"), (200, "null"), (200, "  ")]
)
def test_update_items_accepts_any_2xx_with_any_body(httpserver, client, status, body):
    seen: list[dict] = []

    def handler(request: Request) -> Response:
        seen.append(json.loads(request.get_data(), parse_float=Decimal))
        return Response(body, status=status)

    httpserver.expect_request(API + "UpdateItems").respond_with_handler(handler)
    client.update_items(PID, price=Decimal("298.00"), items=[MUG], order_reference="R-1")
    assert seen[0]["OrderReference"] == "R-1" and seen[0]["PurchaseId"] == PID


COMMERCE_CALLS = {
    "PurchaseOrder": lambda c: c.purchase_order(PID, order_reference="R-1", items=[MUG]),
    "ReturnOrder": lambda c: c.return_order(PID, order_reference="R-1", items=[MUG]),
    "Refund": lambda c: c.refund(PID, order_reference="R-1", amount=Decimal("10.00")),
    "RefundRemaining": lambda c: c.refund_remaining(PID, order_reference="R-1"),
    "CancelPayment": lambda c: c.cancel_payment(PID, reason="Customer asked"),
}


@pytest.mark.parametrize("method", COMMERCE_CALLS)
@pytest.mark.parametrize("status, body", [(200, ""), (204, ""), (200, '{"Ok": true}')])
def test_commerce_calls_return_nothing_on_any_2xx(httpserver, client, method, status, body):
    httpserver.expect_request(API + "Commerce/" + method, method="POST").respond_with_data(
        body, status=status
    )
    assert COMMERCE_CALLS[method](client) is None
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("method", COMMERCE_CALLS)
def test_a_commerce_refusal_carries_avardas_code_and_message(httpserver, client, method):
    httpserver.expect_request(API + "Commerce/" + method).respond_with_json(
        [
            {"ErrorCode": "14100", "ErrorMessage": "Return denied - insufficient Purchase Balance"},
            {"ErrorCode": 10005, "ErrorMessage": "Invalid or missing external ID."},
        ],
        status=400,
    )
    with pytest.raises(AvardaCommerceRefused) as info:
        COMMERCE_CALLS[method](client)
    error = info.value
    assert error.code == "14100"
    assert error.message == "Return denied - insufficient Purchase Balance"
    assert [(d.code, d.message) for d in error.details] == [
        ("14100", "Return denied - insufficient Purchase Balance"),
        ("10005", "Invalid or missing external ID."),
    ]
    assert error.plain_message.startswith("Return denied") and not error.outcome_unknown
    assert "14100" in str(error) and method in str(error)


@pytest.mark.parametrize("body", ["", "oops", "{}", '[{"Other": 1}]', "[1, 2]"])
def test_a_commerce_refusal_without_details_is_still_a_commerce_refusal(httpserver, client, body):
    httpserver.expect_request(API + "Commerce/Refund").respond_with_data(body, status=400)
    with pytest.raises(AvardaCommerceRefused) as info:
        COMMERCE_CALLS["Refund"](client)
    assert info.value.code is None and info.value.message == ""
    assert info.value.plain_message == "Avarda refused the request (HTTP 400)."


def test_an_overlong_avarda_message_is_shortened(httpserver, client):
    httpserver.expect_request(API + "Commerce/Refund").respond_with_json(
        [{"ErrorCode": "1", "ErrorMessage": "x" * 5000 + "\x00"}], status=400
    )
    with pytest.raises(AvardaCommerceRefused) as info:
        COMMERCE_CALLS["Refund"](client)
    assert len(info.value.message) <= 200 and "\x00" not in info.value.message


# -- checkout refusals, auth and server errors ------------------------------------------------


def test_a_checkout_refusal_carries_code_and_messages(httpserver, client):
    httpserver.expect_request(API + "UpdateItems").respond_with_json(
        {"CheckOutErrorCode": "7", "Errors": ["Purchase is not editable"]}, status=400
    )
    with pytest.raises(AvardaCheckoutRefused) as info:
        client.update_items(PID, price=Decimal("298.00"), items=[MUG], order_reference="R")
    assert info.value.code == 7 and info.value.errors == ["Purchase is not editable"]
    assert isinstance(info.value, AvardaRefused) and info.value.status == 400


@pytest.mark.parametrize(
    "status, body, error",
    [
        (401, "", AvardaAuthError),
        (404, "Not Found", AvardaCheckoutRefused),
        (500, "boom", AvardaOutcomeUnknown),
        (502, "", AvardaOutcomeUnknown),
        (503, "", AvardaOutcomeUnknown),
        (429, "", AvardaOutcomeUnknown),
        (302, "", AvardaProtocolError),
    ],
)
def test_http_errors_are_typed(httpserver, client, status, body, error):
    answer_status(httpserver, body, status)
    with pytest.raises(error) as info:
        client.get_payment_status(PID)
    assert "pw" not in str(info.value) and "boom" not in str(info.value)


def test_a_server_error_on_a_commerce_call_says_the_outcome_is_unknown(httpserver, client):
    httpserver.expect_request(API + "Commerce/PurchaseOrder").respond_with_data("", status=500)
    with pytest.raises(AvardaOutcomeUnknown, match="outcome is unknown") as info:
        COMMERCE_CALLS["PurchaseOrder"](client)
    assert info.value.outcome_unknown and isinstance(info.value, AvardaUnavailable)


# -- timeouts and connections -----------------------------------------------------------------


@pytest.fixture
def silent_server():
    """Accepts connections (the backlog does), never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/CheckOut2"


def test_a_read_timeout_is_outcome_unknown(silent_server):
    client = AvardaClient(silent_server, "s", "p", timeout=0.2, status_timeout=0.2)
    with pytest.raises(AvardaTimeout, match="in time") as info:
        client.refund(PID, order_reference="R", amount=Decimal("1.00"), tran_id="t-1")
    assert info.value.outcome_unknown and isinstance(info.value, AvardaOutcomeUnknown)
    with pytest.raises(AvardaTimeout):
        client.get_payment_status(PID)


def test_a_connection_dropped_after_the_request_is_outcome_unknown():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)

        def drop() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.close()

        thread = threading.Thread(target=drop)
        thread.start()
        client = AvardaClient(f"http://127.0.0.1:{listener.getsockname()[1]}/CheckOut2", "s", "p")
        with pytest.raises(AvardaOutcomeUnknown) as info:
            client.cancel_payment(PID, reason="r")
        thread.join(5)
    assert not isinstance(info.value, AvardaNotSent) and info.value.outcome_unknown


def test_a_refused_connection_was_never_sent():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = AvardaClient(f"http://127.0.0.1:{port}/CheckOut2", "s", "p")
    with pytest.raises(AvardaNotSent) as info:
        client.purchase_order(PID, order_reference="R", items=[MUG])
    assert not info.value.outcome_unknown and isinstance(info.value, AvardaUnavailable)


@pytest.mark.parametrize("key", ["timeout", "status_timeout"])
@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), True])
def test_timeouts_must_be_positive_and_finite(key, value):
    with pytest.raises(ValueError, match=key):
        AvardaClient("http://127.0.0.1:9/CheckOut2", "s", "p", **{key: value})


def test_an_explicit_timeout_is_never_replaced_by_the_default(httpserver, client):
    """``timeout or default`` would quietly use the default for 0."""
    answer_status(httpserver, {})
    with pytest.raises(ValueError, match="timeout"):
        client.get_payment_status(PID, timeout=0)
    assert httpserver.log == []


def test_a_wrong_request_is_refused_before_anything_is_sent(httpserver, client):
    with pytest.raises(ValueError):
        client.refund(PID, order_reference="R", amount=Decimal("-1.00"))
    with pytest.raises(ValueError):
        client.refund("not-a-purchase-id", order_reference="R", amount=Decimal("1.00"))
    with pytest.raises(ValueError):
        client.purchase_order(PID, order_reference="R", items=[MUG], tran_id="x" * 37)
    with pytest.raises(ValueError):
        client.update_items(PID, price=Decimal("1.00"), items=[MUG], order_reference="R")
    assert httpserver.log == []


def test_status_queue(httpserver, client):
    httpserver.expect_request(
        API + "GetPaymentStatusQueue", json={"Offset": 0, "PageSize": 100, "PurchaseId": PID}
    ).respond_with_json(["a" * 32, "b" * 32])
    assert client.get_payment_status_queue(after_purchase_id=PID) == ["a" * 32, "b" * 32]


def test_repr_hides_the_password():
    assert "secret" not in repr(AvardaClient("http://x/CheckOut2", "site", "secret"))
