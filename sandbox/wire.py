"""Wire formats of the sandbox's APIs: one pydantic model per method, as Avarda documents it.

Every rule here comes from Avarda's Checkout 2.0 pages or its own Magento 2 module, except
the lines marked **(sandbox choice)**: ``docs/sandbox-fidelity.md`` maps each rule of the
protocol page to its line here and to the test that proves it.

Conventions, all Avarda's unless marked:

* Field names are PascalCase and matched exactly (**sandbox choice**: Avarda's .NET API may
  also take other casings; a shop that passes here passes there). Unknown fields are ignored.
* Money is an exact ``Decimal``: a JSON number (the app parses fractions as ``Decimal``) or a
  numeric string such as ``"249.00"`` (what Avarda's Magento module sends); never a float.
  At most two decimals and at most 99 999 999.99 **(sandbox choice)**.
* Booleans are JSON ``true``/``false`` or the strings ``"true"``/``"false"`` in any case
  (Avarda's Magento module sends strings; .NET reads them).
* Texts are JSON strings or null; leading and trailing white space is dropped and an empty
  text counts as absent **(sandbox choice)**. Item ``Description``/``Notes`` are cut to 35
  characters like Avarda does; any other over-long text is an error.

Limits that are column lengths are read by :mod:`sandbox.models` from here, so the two
cannot drift apart. This module imports nothing else of the sandbox.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_pascal
from pydantic_core import ErrorDetails, PydanticCustomError

from sandbox.errors import ValidationError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("99999999.99")

#: Avarda's limits (InitializePayment's table, the Magento module's builders).
DESCRIPTION_MAX = 4000
MAIL_MAX = 60
PHONE_DIGITS_MAX = 15
ADDRESS_FIELD_MAX = 40
ITEM_TEXT_MAX = 35
LANGUAGES = ("sv-SE", "fi-FI", "en-US", "nb-NO", "da-DK")
#: Commerce: Checkout 3's table (Checkout 2's pages give TranId's only).
COMMERCE_ORDER_REFERENCE_MAX = 20
TRAN_ID_MAX = 36
POS_ID_MAX = 32

#: (sandbox choices) Limits Avarda does not publish.
PHONE_MAX = 100  # white space included: "technically any length", but it must be stored
ORDER_REFERENCE_MAX = 100
CUSTOMER_TOKEN_MAX = 100
TAX_CODE_MAX = 10
ITEMS_MAX = 500
EXTERNAL_ID_MAX = 64
TRACKING_CODE_MAX = 100
REASON_MAX = 200
CALLBACK_URL_MAX = 2000

CUSTOMER_PARTS = ("FirstName", "LastName", "AddressLine1", "AddressLine2", "Zip", "City")


# --- errors ---------------------------------------------------------------------------


def _field(message: str, context: Mapping[str, Any] | None = None) -> PydanticCustomError:
    """A problem with one field: the message completes "<Field> …"."""
    return PydanticCustomError("field", message, dict(context or {}))


def _request(message: str, context: Mapping[str, Any] | None = None) -> PydanticCustomError:
    """A problem with the request as a whole: the message is a whole sentence."""
    return PydanticCustomError("request", message, dict(context or {}))


_BUILT_IN: dict[str, str] = {
    "missing": "is required.",
    "string_type": "must be a string.",
    "string_too_long": "can be at most {max_length} characters.",
    "bool_type": "must be true or false.",
    "int_type": "must be an integer.",
    "int_parsing": "must be an integer.",
    "greater_than": "must be greater than {gt}.",
    "greater_than_equal": "must be at least {ge}.",
    "less_than_equal": "must be at most {le}.",
    "list_type": "must be a list.",
    "too_short": "must have at least {min_length} entries.",
    "too_short_1": "must be a non-empty list.",
    "too_long": "can have at most {max_length} entries.",
    "literal_error": "must be one of {expected}.",
    "model_type": "must be an object.",
    "model_attributes_type": "must be an object.",
    "dict_type": "must be an object.",
    "extra_forbidden": "is not a known setting.",
}


def where(loc: tuple[int | str, ...]) -> str:
    """``("Items", 0, "Amount")`` -> ``"Items[0].Amount"``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def sentence(error: ErrorDetails) -> str:
    """One error as a sentence for people; never quotes the input (it may be a secret)."""
    loc = tuple(error["loc"])
    if error["type"] == "request" or (not loc and error["type"] == "field"):
        return error["msg"]
    if not loc and error["type"] in {"model_type", "model_attributes_type", "dict_type"}:
        return "The request body must be a JSON object."
    if error["type"] == "field":
        predicate = error["msg"]
    else:
        context = error.get("ctx") or {}
        kind = error["type"]
        if kind == "too_short" and context.get("min_length") == 1:
            kind = "too_short_1"
        template = _BUILT_IN.get(kind)
        try:
            predicate = template.format(**context) if template else error["msg"] + "."
        except (KeyError, IndexError):
            predicate = error["msg"] + "."
    return f"{where(loc)} {predicate}" if loc else predicate


def problems(exc: PydanticValidationError) -> list[str]:
    """Every error of ``exc`` as a sentence, in the order pydantic found them."""
    return [sentence(error) for error in exc.errors(include_url=False, include_input=False)]


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, context: Mapping[str, Any] | None = None) -> M:
    """``data`` as ``model``, or :class:`sandbox.errors.ValidationError` listing every
    problem as a sentence (never quoting a value)."""
    try:
        return model.model_validate(data, context=context)
    except PydanticValidationError as exc:
        raise ValidationError(problems(exc)) from None


# --- field types ----------------------------------------------------------------------


def _money(value: Any) -> Decimal:
    if value is None:
        raise _field("is required.")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise _field("must be a number.")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise _field("must be a number.") from None
    if not amount.is_finite():
        raise _field("must be a number.")
    if abs(amount) > MAX_AMOUNT:
        raise _field("is too large.")
    if amount != amount.quantize(CENT):
        raise _field("can have at most two decimals.")
    return amount.quantize(CENT)


def _optional_money(value: Any) -> Decimal | None:
    return None if value is None else _money(value)


def _flag(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise _field('must be true or false (a JSON boolean, or the string "true" or "false").')


def _string(value: Any) -> str | None:
    """A JSON string, stripped; None for null or an empty text."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _field("must be a string.")
    return value.strip() or None


def _text(limit: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        text = _string(value)
        if text is not None and len(text) > limit:
            raise _field("can be at most {limit} characters.", {"limit": limit})
        return text

    return check


def _truncated(value: Any) -> str | None:
    text = _string(value)
    return None if text is None else text[:ITEM_TEXT_MAX]


def _phone(value: Any) -> str | None:
    text = _string(value)
    if text is None:
        return None
    if sum(not c.isspace() for c in text) > PHONE_DIGITS_MAX:
        raise _field(
            "can be at most {limit} characters, not counting white space.",
            {"limit": PHONE_DIGITS_MAX},
        )
    if len(text) > PHONE_MAX:
        raise _field("can be at most {limit} characters.", {"limit": PHONE_MAX})
    return text


def _mail(value: Any) -> str | None:
    text = _text(MAIL_MAX)(value)
    if text is not None:
        local, at, domain = text.rpartition("@")
        if not (at and local and domain) or any(c.isspace() for c in text):
            raise _field("must be an e-mail address.")
    return text


def _tax_code(value: Any) -> str | None:
    """VAT percent: a string ("25", Avarda's "24.0000") or a number (Magento's tax percent)."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        value = format(value, "f") if isinstance(value, Decimal) else str(value)
    return _text(TAX_CODE_MAX)(value)


def _start_date(value: Any) -> datetime | None:
    """ "YYYY-MM-DD HH:MM:SS" (or ISO 8601), read as UTC when it has no zone."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise _field('must be a date and time like "2026-11-01 12:00:00".')


Money = Annotated[Decimal, BeforeValidator(_money)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]
Description = Annotated[str | None, BeforeValidator(_text(DESCRIPTION_MAX))]
Mail = Annotated[str | None, BeforeValidator(_mail)]
Phone = Annotated[str | None, BeforeValidator(_phone)]
AddressField = Annotated[str | None, BeforeValidator(_text(ADDRESS_FIELD_MAX))]
OrderReference = Annotated[str | None, BeforeValidator(_text(ORDER_REFERENCE_MAX))]
CustomerToken = Annotated[str | None, BeforeValidator(_text(CUSTOMER_TOKEN_MAX))]
ItemText = Annotated[str | None, BeforeValidator(_truncated)]
TaxCode = Annotated[str | None, BeforeValidator(_tax_code)]
Language = Literal["sv-SE", "fi-FI", "en-US", "nb-NO", "da-DK"]
Url = Annotated[str | None, BeforeValidator(_text(CALLBACK_URL_MAX))]


class Wire(BaseModel):
    """Avarda's request conventions: PascalCase names, unknown fields ignored, read-only."""

    model_config = ConfigDict(alias_generator=to_pascal, extra="ignore", frozen=True)


# --- checkout API ---------------------------------------------------------------------


class Item(Wire):
    """One row: ``Amount`` is the row total incl. VAT and may be negative (a rebate) or 0."""

    description: ItemText = None
    notes: ItemText = None
    amount: Money
    tax_code: TaxCode = None
    tax_amount: Annotated[Decimal | None, BeforeValidator(_optional_money)] = None


def _rows(value: Any) -> Any:
    if value is None:
        raise _field("is required.")
    return value


Rows = Annotated[list[Item], BeforeValidator(_rows), Field(min_length=1, max_length=ITEMS_MAX)]


def items_total(items: list[Item]) -> Decimal:
    return sum((item.amount for item in items), ZERO)


class Cart(Wire):
    """``Price`` and ``Items``: rows may be negative, but the sum must be positive."""

    price: Annotated[Money, Field(gt=0)]
    items: Rows

    @model_validator(mode="after")
    def _price_is_the_sum(self) -> Self:
        total = items_total(self.items)
        if total <= 0:
            raise _request(
                "The sum of item amounts must be positive, got {total}.", {"total": str(total)}
            )
        # (sandbox choice) Avarda does not document refusing a Price that differs.
        if total != self.price:
            raise _request(
                "The sum of item amounts ({total}) must equal Price ({price}).",
                {"total": str(total), "price": str(self.price)},
            )
        return self


class Customer(Wire):
    """Contact and addresses; the column names are these fields' snake_case names."""

    mail: Mail = None
    phone: Phone = None
    invoicing_first_name: AddressField = None
    invoicing_last_name: AddressField = None
    invoicing_address_line1: AddressField = None
    invoicing_address_line2: AddressField = None
    invoicing_zip: AddressField = None
    invoicing_city: AddressField = None
    delivery_first_name: AddressField = None
    delivery_last_name: AddressField = None
    delivery_address_line1: AddressField = None
    delivery_address_line2: AddressField = None
    delivery_zip: AddressField = None
    delivery_city: AddressField = None
    use_different_delivery_address: Flag = None

    def given(self) -> dict[str, Any]:
        """The customer fields the caller sent, by column name (an explicit null included)."""
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if name in Customer.model_fields
        }


class InitializePayment(Cart, Customer):
    """``POST /CheckOut2Api/InitializePayment``: only ``Price`` and ``Items`` are required."""

    description: Description = None
    is_phone_and_mail_editable: Flag = None
    is_invoicing_editable: Flag = None
    is_delivery_editable: Flag = None
    user_language_code: Language | None = None
    order_reference: OrderReference = None
    customer_token: CustomerToken = None
    offer_rec_pmt: Flag = None


class UpdateItems(Cart):
    """``POST /CheckOut2Api/UpdateItems``. Avarda's page says OrderReference must be given,
    its Magento module sends none: both are accepted; when given it replaces the purchase's."""

    purchase_id: Annotated[str, BeforeValidator(_string)]
    order_reference: OrderReference = None


class GetPaymentStatus(Wire):
    """A missing PurchaseId is an unknown purchase (1002), not a validation error."""

    purchase_id: Annotated[str | None, BeforeValidator(_string)] = None


class GetPaymentStatusQueue(Wire):
    purchase_id: Annotated[str | None, BeforeValidator(_string)] = None
    start_date: Annotated[datetime | None, BeforeValidator(_start_date)] = None
    offset: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None
    page_size: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="after")
    def _anchor(self) -> Self:
        if self.purchase_id is None and self.start_date is None:
            raise _request("PurchaseId or StartDate is required.")
        return self


# --- Commerce API ---------------------------------------------------------------------

#: Avarda's code for a missing or unknown ExternalId; the others are sandbox choices.
INVALID_EXTERNAL_ID = "10005"
INVALID_TRAN_ID = "10006"
TRAN_ID_REUSED = "10007"
INVALID_AMOUNT = "10008"
AMOUNT_TOO_LARGE = "10009"
WRONG_STATE = "10010"
CANCEL_DENIED = "10011"
INVALID_FIELD = "10012"
INVALID_EXTERNAL_ID_MESSAGE = "Invalid or missing external ID."

_CODE_BY_FIELD = {
    "ExternalId": INVALID_EXTERNAL_ID,
    "TranId": INVALID_TRAN_ID,
    "Items": INVALID_AMOUNT,
    "Amount": INVALID_AMOUNT,
}


def commerce_errors(exc: PydanticValidationError) -> list[tuple[str, str]]:
    """(ErrorCode, ErrorMessage) for each problem; an ExternalId problem is Avarda's 10005."""
    result = []
    for error in exc.errors(include_url=False, include_input=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        code = _CODE_BY_FIELD.get(field, INVALID_FIELD)
        message = INVALID_EXTERNAL_ID_MESSAGE if code == INVALID_EXTERNAL_ID else sentence(error)
        result.append((code, message))
    return result


def _required(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _text(limit)(value)
        if text is None:
            raise _field("is required.")
        return text

    return check


class CommerceCall(Wire):
    external_id: Annotated[str, BeforeValidator(_required(EXTERNAL_ID_MAX))]


class CommerceTransaction(CommerceCall):
    """Avarda: ExternalId and OrderReference must be specified; TranId is optional but
    recommended (an empty string, Avarda's default, counts as absent)."""

    order_reference: Annotated[str, BeforeValidator(_required(COMMERCE_ORDER_REFERENCE_MAX))]
    tran_id: Annotated[str | None, BeforeValidator(_text(TRAN_ID_MAX))] = None


class PurchaseOrder(CommerceTransaction):
    """Deliver items. Rebate rows (negative) and zero rows are fine while the sum is positive."""

    items: Rows
    tracking_code: Annotated[str | None, BeforeValidator(_text(TRACKING_CODE_MAX))] = None
    pos_id: Annotated[str | None, BeforeValidator(_text(POS_ID_MAX))] = None

    @field_validator("items")
    @classmethod
    def _positive(cls, items: list[Item]) -> list[Item]:
        total = items_total(items)
        if total <= 0:
            raise _field("must add up to a positive amount, got {total}.", {"total": str(total)})
        return items

    @property
    def amount(self) -> Decimal:
        return items_total(self.items)


class ReturnOrder(PurchaseOrder):
    """Return delivered items (Avarda's example carries TrackingCode and PosId too)."""


class Refund(CommerceTransaction):
    amount: Annotated[Money, Field(gt=0)]


class RefundRemaining(CommerceTransaction):
    """Release the undelivered remainder."""


class CancelPayment(CommerceCall):
    """Avarda: Reason must be specified."""

    reason: Annotated[str, BeforeValidator(_required(REASON_MAX))]


COMMERCE_MODELS: dict[str, type[CommerceCall]] = {
    "PurchaseOrder": PurchaseOrder,
    "ReturnOrder": ReturnOrder,
    "Refund": Refund,
    "RefundRemaining": RefundRemaining,
    "CancelPayment": CancelPayment,
}


# --- the checkout form and the admin API (the sandbox's own, not Avarda's) -------------

FormMethod = Literal["Invoice", "Loan", "PartPayment", "Card", "DirectPayment", "Fail"]
Decision = Literal["approve", "decline", "fail"]


class Completion(Customer):
    """The form's **Complete purchase**: the method and the customer as typed."""

    payment_method: FormMethod


#: The form's fields by wire name (``Mail``, ``InvoicingZip``, …).
FORM_FIELDS = frozenset(
    to_pascal(name) for name in Customer.model_fields if name != "use_different_delivery_address"
)


class ScriptedCompletion(Completion):
    """Admin API: a scripted customer completes, then answers the external step."""

    payment_method: FormMethod = "Invoice"
    purchase_completed_callback_url: Url = None
    step: Decision | Literal["wait"] = "approve"


class StepDecision(Wire):
    decision: Decision


# --- merchant settings (admin API, snake_case) ----------------------------------------

MASK = "***"
AUTH_USERNAME_MAX = 200
AUTH_SECRET_MAX = 2000
#: RFC 6750's b64token (RFC 7235's token68): what a Bearer token may hold on the wire.
_TOKEN68 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")
_AUTH_KEYS = {"None": set(), "Basic": {"username", "password"}, "Bearer": {"token"}}


def _is_token68(value: str) -> bool:
    body = value.rstrip("=")
    return bool(body) and all(c in _TOKEN68 for c in body)


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(c) in {"Cc", "Cs"} for c in value)


class CallbackAuthorization(BaseModel):
    """The static Authorization header a merchant's callbacks carry.

    Messages never quote a value. ``"***"`` (what the API shows) keeps the stored secret,
    allowed only when the scheme stays the same (``context["current_scheme"]``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    scheme: Literal["None", "Basic", "Bearer"]
    username: str | None = None
    password: str | None = None
    token: str | None = None

    @field_validator("username", "password", "token", mode="before")
    @classmethod
    def _part(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        key = info.field_name or ""
        limit = AUTH_USERNAME_MAX if key == "username" else AUTH_SECRET_MAX
        if not isinstance(value, str) or not value or len(value) > limit:
            raise _field(
                "must be a non-empty string of at most {limit} characters.", {"limit": limit}
            )
        if value == MASK and key != "username":
            return value  # checked against the stored scheme below
        if key == "token" and not _is_token68(value):
            raise _field("may only hold ASCII letters, digits and -._~+/ (then optional =).")
        if key != "token" and _has_control_characters(value):
            raise _field("has control or invalid characters.")
        if key == "username" and ":" in value:
            raise _field("cannot contain ':'.")
        return value

    @model_validator(mode="after")
    def _parts_of_the_scheme(self, info: ValidationInfo) -> Self:
        wanted = _AUTH_KEYS[self.scheme]
        given = {k for k in ("username", "password", "token") if getattr(self, k) is not None}
        if given - wanted:
            raise _request(
                "callback_authorization: {keys} do not go with scheme {scheme}.",
                {"keys": ", ".join(sorted(given - wanted)), "scheme": self.scheme},
            )
        current = (info.context or {}).get("current_scheme")
        for key in sorted(wanted, reverse=True):
            value = getattr(self, key)
            limit = AUTH_USERNAME_MAX if key == "username" else AUTH_SECRET_MAX
            if value is None or (value == MASK and current != self.scheme):
                raise _request(
                    "callback_authorization.{key} must be a non-empty string of at most "
                    "{limit} characters.",
                    {"key": key, "limit": limit},
                )
        return self


#: Characters no URL the sandbox calls or redirects to may hold: parsers disagree on them
#: (``\\`` is a slash to browsers, not to Python), so the origin checked might not be the
#: origin called.
_URL_FORBIDDEN = frozenset("\\ \t\r\n\x00")
DEFAULT_PORTS = {"http": 80, "https": 443}
ORIGINS_MAX = 20


def _parsed_origin(value: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an http(s) URL without credentials, or None."""
    if any(c in _URL_FORBIDDEN or not c.isprintable() or not c.isascii() for c in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None:
        return None
    if parts.password is not None or "@" in parts.netloc:
        return None
    if port == DEFAULT_PORTS[scheme]:
        port = None
    return scheme, host, port


def origin_of(url: Any) -> str | None:
    """The origin (``scheme://host[:port]``, lower case, default port left out) of an
    absolute http(s) URL, or None for anything else: another scheme, credentials in the
    URL, characters that parsers read differently, a bad port."""
    if not isinstance(url, str) or not url or len(url) > CALLBACK_URL_MAX:
        return None
    parsed = _parsed_origin(url)
    if parsed is None:
        return None
    scheme, host, port = parsed
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}" + (f":{port}" if port is not None else "")


def _origin(value: Any) -> str:
    """An allowed origin as written in the settings: nothing but scheme, host and port."""
    if not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise _field("must be an origin such as https://shop.example or http://127.0.0.1:5000.")
    text = value.strip()
    origin = origin_of(text)
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if origin is None or parts is None or parts.path not in {"", "/"}:
        raise _field("must be an origin such as https://shop.example or http://127.0.0.1:5000.")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise _field("must be an origin such as https://shop.example or http://127.0.0.1:5000.")
    return origin


Millis = Annotated[StrictInt, Field(ge=0, le=86_400_000)]


class MerchantSettings(BaseModel):
    """A partial update of a merchant's settings: unknown keys and wrong types are errors
    (``true`` is not an integer here). ``callback_allowed_origins`` and
    ``purchase_timeout_seconds`` set to null go back to their defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site_code: str | None = None
    callback_enabled: StrictBool | None = None
    callback_authorization: CallbackAuthorization | None = None
    callback_allowed_origins: (
        Annotated[
            list[Annotated[str, BeforeValidator(_origin)]],
            Field(min_length=1, max_length=ORIGINS_MAX),
        ]
        | None
    ) = None
    retry_schedule_ms: Annotated[list[Millis], Field(max_length=1000)] | None = None
    retry_every_ms: Millis | None = None
    max_attempts: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    first_attempt_delay_ms: Millis | None = None
    callback_copies: Annotated[StrictInt, Field(ge=1, le=20)] | None = None
    fail_first_attempts: Annotated[StrictInt, Field(ge=0, le=1000)] | None = None
    done_delay_seconds: Annotated[StrictInt, Field(ge=0, le=3600)] | None = None
    never_call_done: StrictBool | None = None
    realistic_latency: StrictBool | None = None
    purchase_timeout_seconds: Annotated[StrictInt, Field(ge=1, le=7 * 86_400)] | None = None

    @model_validator(mode="after")
    def _no_null_where_it_means_nothing(self) -> Self:
        nullable = {"site_code", "callback_allowed_origins", "purchase_timeout_seconds"}
        for key in sorted(self.model_fields_set - nullable):
            if getattr(self, key) is None:
                raise _request("{key} cannot be null.", {"key": key})
        return self

    def given(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.model_fields_set if key != "site_code"}
