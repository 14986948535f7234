"""Contract: InitializePayment, UpdateItems and GetPaymentStatus as Avarda documents them.

Each test is one rule of the revised protocol page (``docs/sandbox-fidelity.md`` maps
them); the request bodies are Avarda's own where it publishes one: its documentation's
examples and what its Magento 2 Checkout 2 module sends.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from tests.integration.sandbox.support import cart

#: What Avarda's Magento 2 Checkout 2 module sends (Gateway/Request/*DataBuilder.php):
#: amounts formatted as strings ("%.2F"), booleans as the strings "true"/"false", the tax
#: percent as a number, country names, a null Mail for a guest, AddressLine2 null.
MAGENTO_INITIALIZE = {
    "Phone": "+46 70 123 45 67",
    "Mail": None,
    "InvoicingFirstName": "Anna",
    "InvoicingLastName": "Andersson",
    "InvoicingAddressLine1": "Storgatan 1",
    "InvoicingAddressLine2": None,
    "InvoicingZip": "11122",
    "InvoicingCity": "Stockholm",
    "InvoicingCountry": "Sweden",
    "DeliveryFirstName": "Rut",
    "DeliveryLastName": "Berg",
    "DeliveryAddressLine1": "Lilla vägen 2",
    "DeliveryAddressLine2": None,
    "DeliveryZip": "22100",
    "DeliveryCity": "Lund",
    "DeliveryCountry": "Sweden",
    "IsInvoicingEditable": "true",
    "IsDeliveryEditable": "false",
    "UseDifferentDeliveryAddress": "true",
    "Price": "249.00",
    "Items": [
        {
            "Description": "Organic cotton T-shirt, size M, colour forest green",
            "Notes": "TS-ORG-M-GREEN",
            "Amount": "199.00",
            "TaxCode": 25,
            "TaxAmount": "39.80",
        },
        {
            "Description": "Flat rate shipping",
            "Notes": "flatrate_flatrate",
            "Amount": "50.00",
            "TaxCode": "25.0000",
            "TaxAmount": "10.00",
        },
    ],
    "UserLanguageCode": "sv-SE",
    "OrderReference": "000000123",
}

#: The customer fields of Avarda's AuthorizeDirectInvoice example (its Checkout 2.0 pages):
#: nulls for unset options, a ZIP with a trailing space, non-ASCII cities.
AVARDA_EXAMPLE_CUSTOMER = {
    "Description": None,
    "UserLanguageCode": None,
    "Phone": "041234567",
    "Mail": "Testperson@avarda.comm",
    "IsPhoneAndMailEditable": None,
    "InvoicingFirstName": "Testname",
    "InvoicingLastName": "Testlastname",
    "InvoicingAddressLine1": "Address X11",
    "InvoicingZip": "11136 ",
    "InvoicingCity": "Jyväskylä",
    "DeliveryFirstName": "Testname",
    "DeliveryLastName": "Testlastname",
    "DeliveryAddressLine1": "Address X11",
    "DeliveryZip": "11136 ",
    "DeliveryCity": "JYVÄSKYLÄ",
    "IsDeliveryEditable": False,
}


def initialize(sandbox, body):
    return sandbox.api("InitializePayment", body)


def errors_of(response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"CheckOutErrorCode", "Errors"} and body["CheckOutErrorCode"] == 1001
    return body["Errors"]


def test_the_magento_modules_body_is_accepted_as_sent(sandbox):
    response = initialize(sandbox, MAGENTO_INITIALIZE)
    assert response.status_code == 200, response.text
    purchase = sandbox.purchase(response.json())
    assert Decimal(str(purchase["Price"])) == Decimal("249.00")
    assert purchase["Phone"] == "+46 70 123 45 67"
    assert purchase["UseDifferentDeliveryAddress"] is True
    assert (purchase["DeliveryZip"], purchase["DeliveryCity"]) == ("22100", "Lund")
    first, shipping = purchase["Items"]
    assert first["Description"] == "Organic cotton T-shirt, size M, col"  # cut to 35
    assert (first["TaxCode"], shipping["TaxCode"]) == ("25", "25.0000")
    assert Decimal(str(first["TaxAmount"])) == Decimal("39.80")


def test_avardas_example_customer_with_nulls_and_padding_is_accepted(sandbox):
    response = initialize(sandbox, cart("82.72") | AVARDA_EXAMPLE_CUSTOMER)
    assert response.status_code == 200, response.text
    status = sandbox.status(response.json())
    assert status["InvoicingZip"] == "11136"  # outer white space dropped
    assert status["InvoicingCity"] == "Jyväskylä"
    assert status["Mail"] == "Testperson@avarda.comm"
    assert status["UseDifferentDeliveryAddress"] is False
    assert status["DeliveryCity"] is None  # no separate delivery address: null


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        ("True", True),
        ("FALSE", False),
    ],
)
def test_booleans_are_json_booleans_or_the_strings_true_and_false(sandbox, value, stored):
    body = cart() | {"UseDifferentDeliveryAddress": value, "DeliveryZip": "22100"}
    response = initialize(sandbox, body)
    assert response.status_code == 200, response.text
    assert sandbox.status(response.json())["UseDifferentDeliveryAddress"] is stored


@pytest.mark.parametrize("value", ["yes", 1, 0, "1", [], {}])
def test_other_boolean_spellings_are_refused(sandbox, value):
    [error] = errors_of(initialize(sandbox, cart() | {"IsInvoicingEditable": value}))
    assert error.startswith("IsInvoicingEditable must be true or false")


def test_phone_counts_at_most_15_characters_not_counting_white_space(sandbox):
    spaced = "+46 70 123 45 67 890"  # 15 without the spaces, 20 with them
    response = initialize(sandbox, cart() | {"Phone": spaced})
    assert response.status_code == 200, response.text
    assert sandbox.status(response.json())["Phone"] == spaced
    [error] = errors_of(initialize(sandbox, cart() | {"Phone": "1234567890123456"}))
    assert error == "Phone can be at most 15 characters, not counting white space."


def test_description_holds_4000_characters(sandbox):
    response = initialize(sandbox, cart() | {"Description": "d" * 4000})
    assert response.status_code == 200, response.text
    [error] = errors_of(initialize(sandbox, cart() | {"Description": "d" * 4001}))
    assert error == "Description can be at most 4000 characters."


ADDRESS_FIELDS = [
    f"{prefix}{part}"
    for prefix in ("Invoicing", "Delivery")
    for part in ("FirstName", "LastName", "AddressLine1", "AddressLine2", "Zip", "City")
]


def test_mail_holds_60_and_address_fields_40_characters(sandbox):
    longest = {"Mail": "m" * 48 + "@example.com"} | {name: "a" * 40 for name in ADDRESS_FIELDS}
    assert initialize(sandbox, cart() | longest).status_code == 200
    too_long = {"Mail": "m" * 49 + "@example.com"} | {name: "a" * 41 for name in ADDRESS_FIELDS}
    errors = errors_of(initialize(sandbox, cart() | too_long))
    assert errors == ["Mail can be at most 60 characters."] + [
        f"{name} can be at most 40 characters." for name in ADDRESS_FIELDS
    ]


@pytest.mark.parametrize("language", ["sv-SE", "fi-FI", "en-US", "nb-NO", "da-DK"])
def test_the_five_language_codes(sandbox, language):
    response = initialize(sandbox, cart() | {"UserLanguageCode": language})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("language", ["sv", "sv_SE", "sv-se", "de-DE", 5])
def test_any_other_language_code_is_refused(sandbox, language):
    [error] = errors_of(initialize(sandbox, cart() | {"UserLanguageCode": language}))
    assert error.startswith("UserLanguageCode must be one of 'sv-SE', 'fi-FI', 'en-US'")


def test_unknown_fields_are_ignored_at_every_level(sandbox):
    body = cart("10.00") | {"SomethingNew": {"Nested": [1, 2]}, "OfferRecPmt": "false"}
    body["Items"] = [{"Amount": "10.00", "Quantity": 2, "Id": 7, "Sku": "X"}]
    response = initialize(sandbox, body)
    assert response.status_code == 200, response.text


def test_field_names_are_pascal_case_exactly(sandbox):
    camel = {"price": "10.00", "items": [{"amount": "10.00"}]}
    assert errors_of(initialize(sandbox, camel)) == ["Price is required.", "Items is required."]
    lower_item = {"Price": "10.00", "Items": [{"amount": "10.00"}]}
    assert errors_of(initialize(sandbox, lower_item)) == ["Items[0].Amount is required."]


def test_price_and_items_are_required(sandbox):
    assert errors_of(initialize(sandbox, {})) == ["Price is required.", "Items is required."]
    assert errors_of(initialize(sandbox, {"Price": None, "Items": None})) == [
        "Price is required.",
        "Items is required.",
    ]


VALIDATION_CASES = [
    ({"Price": 0}, "Price must be greater than 0."),
    ({"Price": -5}, "Price must be greater than 0."),
    ({"Price": "abc"}, "Price must be a number."),
    ({"Price": True}, "Price must be a number."),
    ({"Price": "1.001"}, "Price can have at most two decimals."),
    ({"Price": "100000000.00"}, "Price is too large."),
    ({"Items": []}, "Items must be a non-empty list."),
    ({"Items": "Mug"}, "Items must be a list."),
    ({"Items": [{"Description": "Mug"}]}, "Items[0].Amount is required."),
    ({"Items": [{"Amount": "1", "Description": 5}]}, "Items[0].Description must be a string."),
    ({"Items": [{"Amount": "1", "TaxCode": "x" * 11}]}, "Items[0].TaxCode can be at most 10"),
    ({"Price": "251.00"}, "The sum of item amounts (250.00) must equal Price (251.00)."),
    ({"Mail": "no-at-sign"}, "Mail must be an e-mail address."),
    ({"InvoicingZip": 11122}, "InvoicingZip must be a string."),
]


@pytest.mark.parametrize(("change", "message"), VALIDATION_CASES)
def test_wrong_input_is_1001_with_a_message_naming_the_field(sandbox, change, message):
    errors = errors_of(initialize(sandbox, cart("250.00") | change))
    assert any(error.startswith(message) for error in errors), errors


def test_exact_decimal_money_from_numbers_and_strings(sandbox):
    body = {
        "Price": 0.3,  # parsed as Decimal("0.3"), never a float
        "Items": [{"Amount": "0.10"}, {"Amount": 0.2}],
    }
    purchase_id = initialize(sandbox, body).json()
    raw = sandbox.api("GetPaymentStatus", {"PurchaseId": purchase_id}).text
    assert '"Price": 0.30' in raw


def test_rebate_and_zero_rows_while_the_sum_is_positive(sandbox):
    body = {
        "Price": "80.00",
        "Items": [
            {"Description": "Mug", "Amount": "100.00"},
            {"Description": "Gift wrap", "Amount": 0},
            {"Description": "Rebate", "Amount": -20},
        ],
    }
    assert initialize(sandbox, body).status_code == 200
    negative = {"Price": "1.00", "Items": [{"Amount": "10"}, {"Amount": "-10"}]}
    [error] = errors_of(initialize(sandbox, negative))
    assert error == "The sum of item amounts must be positive, got 0.00."


def test_update_items_accepts_order_reference_present_or_absent(sandbox):
    purchase_id = sandbox.initialize("250.00")
    without = {"PurchaseId": purchase_id, "Price": "300.00", "Items": [{"Amount": "300.00"}]}
    response = sandbox.api("UpdateItems", without)  # what Avarda's Magento module sends
    assert (response.status_code, response.content) == (200, b"")
    status = sandbox.status(purchase_id)
    assert (Decimal(str(status["Price"])), status["OrderReference"]) == (Decimal("300"), "order-1")
    with_reference = without | {"Price": "310.00", "Items": [{"Amount": "310.00"}]}
    response = sandbox.api("UpdateItems", with_reference | {"OrderReference": "order-2"})
    assert (response.status_code, response.content) == (200, b"")
    status = sandbox.status(purchase_id)
    assert (Decimal(str(status["Price"])), status["OrderReference"]) == (Decimal("310"), "order-2")


def test_update_items_validates_like_initialize_and_changes_nothing(sandbox):
    purchase_id = sandbox.initialize("250.00")
    bad = copy.deepcopy(MAGENTO_INITIALIZE["Items"])
    bad[0]["Amount"] = "199.001"
    body = {"PurchaseId": purchase_id, "Price": "249.00", "Items": bad}
    assert errors_of(sandbox.api("UpdateItems", body)) == [
        "Items[0].Amount can have at most two decimals."
    ]
    [error] = errors_of(sandbox.api("UpdateItems", {"Price": "1", "Items": [{"Amount": 1}]}))
    assert error == "PurchaseId is required."
    assert Decimal(str(sandbox.status(purchase_id)["Price"])) == Decimal("250.00")
    good = {"PurchaseId": purchase_id} | {k: MAGENTO_INITIALIZE[k] for k in ("Price", "Items")}
    assert sandbox.api("UpdateItems", good).status_code == 200


def test_get_payment_status_has_the_delivery_fields_null_without_a_separate_address(sandbox):
    purchase_id = sandbox.initialize()
    status = sandbox.status(purchase_id)
    assert status["UseDifferentDeliveryAddress"] is False
    for name in ADDRESS_FIELDS:
        assert name in status
        if name.startswith("Delivery"):
            assert status[name] is None
    sandbox.complete(purchase_id, DeliveryZip="22100", DeliveryCity="Lund")
    status = sandbox.status(purchase_id)
    assert status["UseDifferentDeliveryAddress"] is True
    assert (status["DeliveryZip"], status["DeliveryCity"]) == ("22100", "Lund")
    assert status["InvoicingZip"] and status["InvoicingZip"] != "22100"


def test_a_delivery_address_without_the_flag_is_dropped(sandbox):
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, UseDifferentDeliveryAddress=False, DeliveryZip="22100")
    status = sandbox.status(purchase_id)
    assert status["UseDifferentDeliveryAddress"] is False and status["DeliveryZip"] is None


def test_fields_the_shop_made_read_only_keep_its_values(sandbox):
    body = MAGENTO_INITIALIZE | {
        "Mail": "shop@example.com",
        "IsPhoneAndMailEditable": "false",
        "IsInvoicingEditable": False,
    }
    purchase_id = initialize(sandbox, body).json()
    sandbox.complete(
        purchase_id,
        Mail="typed@example.com",
        InvoicingCity="Malmö",
        UseDifferentDeliveryAddress=False,  # IsDeliveryEditable "false": the shop's address
        DeliveryCity="Umeå",
    )
    status = sandbox.status(purchase_id)
    assert (status["State"], status["Mail"], status["InvoicingCity"]) == (
        2,
        "shop@example.com",
        "Stockholm",
    )
    assert status["UseDifferentDeliveryAddress"] is True and status["DeliveryCity"] == "Lund"
