"""Validation of API input as Avarda does it: pure functions from JSON values to clean values.

Amounts arrive as JSON numbers (parsed as Decimal, never float) or numeric strings; they
must have at most two decimals. ``Description`` and ``Notes`` of items are truncated to 35
characters like Avarda does; every other over-long field is an error.

The limits are the lengths of the columns the values go to (PostgreSQL enforces them);
this module cannot import the models (same layer), so a test checks they agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.errors import ValidationError

MAX_AMOUNT = Decimal("99999999.99")
ITEM_TEXT_MAX = 35
TAX_CODE_MAX = 10
LANGUAGES = ("sv-SE", "fi-FI", "en-US", "nb-NO", "da-DK")

#: Wire name -> (column name, max length) for the customer's contact and addresses.
CUSTOMER_FIELDS: dict[str, tuple[str, int]] = {
    "Mail": ("mail", 60),
    "Phone": ("phone", 15),
    **{
        f"{prefix}{part}": (f"{prefix.lower()}_{column}", 40)
        for prefix in ("Invoicing", "Delivery")
        for part, column in (
            ("FirstName", "first_name"),
            ("LastName", "last_name"),
            ("AddressLine1", "address_line1"),
            ("AddressLine2", "address_line2"),
            ("Zip", "zip"),
            ("City", "city"),
        )
    },
}
OTHER_TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "Description": ("description", 200),
    "OrderReference": ("order_reference", 100),
    "CustomerToken": ("customer_token", 100),
}
FLAG_FIELDS = {
    "IsPhoneAndMailEditable": "is_phone_and_mail_editable",
    "IsInvoicingEditable": "is_invoicing_editable",
    "IsDeliveryEditable": "is_delivery_editable",
    "UseDifferentDeliveryAddress": "use_different_delivery_address",
}


def parse_amount(value: Any, name: str, errors: list[str]) -> Decimal | None:
    """A Decimal with at most two decimals, or None after appending an error."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        errors.append(f"{name} must be a number.")
        return None
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        errors.append(f"{name} must be a number.")
        return None
    if not amount.is_finite():
        errors.append(f"{name} must be a number.")
        return None
    if amount != amount.quantize(Decimal("0.01")):
        errors.append(f"{name} can have at most two decimals.")
        return None
    if abs(amount) > MAX_AMOUNT:
        errors.append(f"{name} is too large.")
        return None
    return amount.quantize(Decimal("0.01"))


def _text(body: Mapping[str, Any], key: str, limit: int, errors: list[str]) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(f"{key} must be a string.")
        return None
    if len(value) > limit:
        errors.append(f"{key} can be at most {limit} characters.")
        return None
    return value


def parse_items(value: Any, errors: list[str], name: str = "Items") -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        errors.append(f"{name} must be a non-empty list.")
        return []
    if len(value) > 500:
        errors.append(f"{name} can have at most 500 rows.")
        return []
    items = []
    for index, raw in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(raw, Mapping):
            errors.append(f"{where} must be an object.")
            continue
        item: dict[str, Any] = {}
        for key in ("Description", "Notes"):
            text = raw.get(key)
            if text is not None and not isinstance(text, str):
                errors.append(f"{where}.{key} must be a string.")
                text = None
            item[key.lower()] = None if text is None else text[:ITEM_TEXT_MAX]
        if raw.get("Amount") is None:
            errors.append(f"{where}.Amount is required.")
        else:
            item["amount"] = parse_amount(raw["Amount"], f"{where}.Amount", errors)
        tax_code = raw.get("TaxCode")
        if isinstance(tax_code, int) and not isinstance(tax_code, bool):
            tax_code = str(tax_code)
        if tax_code is not None and (not isinstance(tax_code, str) or len(tax_code) > TAX_CODE_MAX):
            errors.append(f"{where}.TaxCode must be a string of at most {TAX_CODE_MAX} characters.")
            tax_code = None
        item["tax_code"] = tax_code
        tax = raw.get("TaxAmount")
        item["tax_amount"] = (
            None if tax is None else parse_amount(tax, f"{where}.TaxAmount", errors)
        )
        items.append(item)
    return items


def _check_sum(items: list[dict[str, Any]], errors: list[str]) -> Decimal | None:
    amounts = [item.get("amount") for item in items]
    if errors or any(a is None for a in amounts):
        return None
    total = sum(amounts, Decimal("0.00"))
    if total <= 0:
        errors.append(f"The sum of item amounts must be positive, got {total}.")
        return None
    return total


def parse_cart(body: Mapping[str, Any], errors: list[str]) -> tuple[Decimal | None, list]:
    """Price and Items, checked against each other (Price > 0, sum of Amounts == Price)."""
    price = None
    if body.get("Price") is None:
        errors.append("Price is required.")
    else:
        price = parse_amount(body["Price"], "Price", errors)
        if price is not None and price <= 0:
            errors.append("Price must be greater than 0.")
            price = None
    items = parse_items(body.get("Items"), errors)
    total = _check_sum(items, errors)
    if price is not None and total is not None and total != price:
        errors.append(f"The sum of item amounts ({total}) must equal Price ({price}).")
    return price, items


def parse_customer(body: Mapping[str, Any], errors: list[str]) -> dict[str, str | None]:
    """Contact and address fields present in ``body``, by column name."""
    clean: dict[str, str | None] = {}
    for key, (column, limit) in CUSTOMER_FIELDS.items():
        if key in body:
            value = _text(body, key, limit, errors)
            clean[column] = value.strip() if value else None
    mail = clean.get("mail")
    if mail and ("@" not in mail or mail.startswith("@") or mail.endswith("@")):
        errors.append("Mail must be an e-mail address.")
    return clean


def parse_initialize(body: Any) -> dict[str, Any]:
    """Clean InitializePayment fields by column name, plus "items"; raises ValidationError."""
    if not isinstance(body, Mapping):
        raise ValidationError(["The request body must be a JSON object."])
    errors: list[str] = []
    price, items = parse_cart(body, errors)
    clean: dict[str, Any] = {"price": price, "items": items}
    clean.update(parse_customer(body, errors))
    for key, (column, limit) in OTHER_TEXT_FIELDS.items():
        clean[column] = _text(body, key, limit, errors)
    for key, column in FLAG_FIELDS.items():
        if body.get(key) is not None:
            if not isinstance(body[key], bool):
                errors.append(f"{key} must be true or false.")
            clean[column] = body[key]
    language = body.get("UserLanguageCode")
    if language is not None:
        if language not in LANGUAGES:
            errors.append(f"UserLanguageCode must be one of {', '.join(LANGUAGES)}.")
        clean["user_language_code"] = language
    if errors:
        raise ValidationError(errors)
    return clean


def parse_update_items(body: Any) -> tuple[str, Decimal, list[dict[str, Any]]]:
    if not isinstance(body, Mapping):
        raise ValidationError(["The request body must be a JSON object."])
    errors: list[str] = []
    purchase_id = body.get("PurchaseId")
    if not isinstance(purchase_id, str) or not purchase_id:
        errors.append("PurchaseId is required.")
    price, items = parse_cart(body, errors)
    if errors:
        raise ValidationError(errors)
    assert price is not None
    return purchase_id, price, items
