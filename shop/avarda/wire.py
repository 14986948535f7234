"""Avarda Checkout 2.0's JSON bodies as pydantic v2 models.

Field names are snake_case in Python and PascalCase on the wire (``order_reference``
↔ ``OrderReference``); money is :class:`~decimal.Decimal`, never a float, and is
written as an exact JSON number (``249.50``). The rules and limits are those of
``docs/avarda-checkout2-protocol.md``.

Requests are strict: a value Avarda would refuse, or that would lose money to
rounding, raises ``ValueError`` (pydantic's ``ValidationError``) before anything is
sent. Responses are tolerant without changing meaning: numbers may come as JSON
numbers or numeric strings, unknown fields are ignored, empty strings mean "not
given", and a ``State`` or ``PaymentMethod`` this code does not know is kept as
:class:`~.protocol.Unrecognized` instead of being refused or guessed at.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_pascal

from .protocol import (
    PURCHASE_ID,
    Language,
    PaymentMethod,
    PurchaseState,
    Unrecognized,
    recognise,
)

# -- field types --------------------------------------------------------------------------


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("money must be a Decimal or an int, never a float")
    return value


#: An amount in the purchase's currency, exact to the cent (öre).
Money = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(allow_inf_nan=False, decimal_places=2, max_digits=15),
]
PositiveMoney = Annotated[Money, Field(gt=0)]


def _cut35(text: str) -> str:
    return text[:35]


#: Avarda keeps 35 characters of an item's Description and Notes (and the Commerce
#: calls refuse longer ones), so they are cut here, where the caller can see it.
ItemText = Annotated[str, AfterValidator(_cut35)]
Text40 = Annotated[str, StringConstraints(max_length=40)]
PurchaseIdText = Annotated[str, StringConstraints(pattern=PURCHASE_ID.pattern)]
#: ``TranId``: made by the caller (e.g. :func:`new_tran_id`) and stored before the call.
TranId = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Reference = Annotated[str, StringConstraints(min_length=1)]


def _phone(value: str) -> str:
    if len("".join(value.split())) > 15:
        raise ValueError("Phone may have at most 15 characters, not counting white space")
    return value


def new_tran_id() -> str:
    """A fresh ``TranId`` (a random GUID, 36 characters).

    Store it with the action *before* calling Avarda, and send the same one again when
    retrying after :class:`~.errors.AvardaOutcomeUnknown`: Avarda applies a ``TranId``
    once, so the retry cannot deliver, return or refund twice.
    """
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


# -- requests -----------------------------------------------------------------------------


#: Both directions: PascalCase on the wire, snake_case in Python, immutable.
_PASCAL_CASE = ConfigDict(
    alias_generator=to_pascal,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
    frozen=True,
)


class WireRequest(BaseModel):
    """Base of every request body: PascalCase on the wire, immutable, no stray fields."""

    model_config = ConfigDict(**_PASCAL_CASE, extra="forbid")

    def to_wire(self) -> dict[str, Any]:
        """The body as Python values (``Decimal`` kept), optional fields left out."""
        return self.model_dump(mode="python", by_alias=True, exclude_none=True)

    def to_json(self) -> str:
        """The body as JSON, money as exact numbers."""
        return dumps_exact(self.to_wire())


class Item(WireRequest):
    """One row: of the cart (InitializePayment, UpdateItems) or of a delivery or return.

    ``amount`` is the row total including VAT and may be negative (a discount);
    ``tax_code`` is the VAT percent as text (``"25"``), ``tax_amount`` the VAT in
    ``amount``. ReturnOrder's rows may leave both tax fields out.
    """

    description: Annotated[ItemText, StringConstraints(min_length=1)]
    amount: Money
    tax_code: str | None = None
    tax_amount: Money | None = None
    notes: ItemText = ""


def _sum_is_price(price: Decimal, items: list[Item]) -> None:
    total = sum((item.amount for item in items), Decimal(0))
    if total != price:
        raise ValueError(f"Price {price} is not the sum of the items' Amount ({total})")


class InitializePayment(WireRequest):
    """``POST CheckOut2Api/InitializePayment``: start a purchase (answer: its id)."""

    price: PositiveMoney
    items: Annotated[list[Item], Field(min_length=1)]
    user_language_code: Language
    order_reference: str | None = None
    description: Annotated[str, StringConstraints(max_length=4000)] | None = None
    mail: Annotated[str, StringConstraints(max_length=60)] | None = None
    phone: Annotated[str, AfterValidator(_phone)] | None = None
    is_phone_and_mail_editable: bool | None = None
    invoicing_first_name: Text40 | None = None
    invoicing_last_name: Text40 | None = None
    invoicing_address_line1: Text40 | None = None
    invoicing_address_line2: Text40 | None = None
    invoicing_zip: Text40 | None = None
    invoicing_city: Text40 | None = None
    is_invoicing_editable: bool | None = None
    delivery_first_name: Text40 | None = None
    delivery_last_name: Text40 | None = None
    delivery_address_line1: Text40 | None = None
    delivery_address_line2: Text40 | None = None
    delivery_zip: Text40 | None = None
    delivery_city: Text40 | None = None
    is_delivery_editable: bool | None = None
    use_different_delivery_address: bool | None = None
    customer_token: str | None = None
    offer_rec_pmt: bool | None = None

    @model_validator(mode="after")
    def _price_is_the_sum(self) -> Self:
        _sum_is_price(self.price, self.items)
        return self


class UpdateItems(WireRequest):
    """``POST CheckOut2Api/UpdateItems``: replace the cart of a purchase in New or
    BeingProcessed. ``OrderReference`` is always sent, as Avarda's page requires."""

    purchase_id: PurchaseIdText
    price: PositiveMoney
    order_reference: Reference
    items: Annotated[list[Item], Field(min_length=1)]

    @model_validator(mode="after")
    def _price_is_the_sum(self) -> Self:
        _sum_is_price(self.price, self.items)
        return self


class GetPaymentStatusRequest(WireRequest):
    """``POST CheckOut2Api/GetPaymentStatus``."""

    purchase_id: PurchaseIdText


class GetPaymentStatusQueueRequest(WireRequest):
    """``POST CheckOut2Api/GetPaymentStatusQueue``: after a purchase id *or* a time."""

    purchase_id: PurchaseIdText | None = None
    start_date: str | None = None
    offset: Annotated[int, Field(ge=0)] = 0
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100

    @model_validator(mode="after")
    def _one_starting_point(self) -> Self:
        if (self.purchase_id is None) == (self.start_date is None):
            raise ValueError("give either PurchaseId or StartDate")
        return self

    @staticmethod
    def format_date(moment: datetime) -> str:
        """``StartDate`` as Avarda writes it, ``2026-11-01 12:00:00`` (use UTC)."""
        return moment.strftime("%Y-%m-%d %H:%M:%S")


class CommerceRequest(WireRequest):
    """Base of the Commerce calls (``POST CheckOut2Api/Commerce/<Method>``)."""

    external_id: PurchaseIdText


class OrderRowsRequest(CommerceRequest):
    """The body PurchaseOrder and ReturnOrder share: rows of the order and a shipment."""

    order_reference: Reference
    items: Annotated[list[Item], Field(min_length=1)]
    tran_id: TranId | None = None
    tracking_code: str | None = None
    pos_id: str | None = None


class PurchaseOrder(OrderRowsRequest):
    """Deliver (capture) rows; Avarda pays the merchant for what is delivered."""


class ReturnOrder(OrderRowsRequest):
    """Return delivered rows (they become negative rows on the invoice)."""


class Refund(CommerceRequest):
    """Refund an amount."""

    order_reference: Reference
    amount: PositiveMoney
    tran_id: TranId | None = None


class RefundRemaining(CommerceRequest):
    """Refund (release) whatever was authorised and not delivered."""

    order_reference: Reference
    tran_id: TranId | None = None


class CancelPayment(CommerceRequest):
    """Cancel the whole purchase (State becomes Cancelled); no ``TranId`` exists."""

    reason: Reference


# -- responses ----------------------------------------------------------------------------


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _state(value: Any) -> PurchaseState | Unrecognized:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("State is missing")
    return recognise(PurchaseState, "State", value)


def _method(value: Any) -> PaymentMethod | Unrecognized | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return recognise(PaymentMethod, "PaymentMethod", value)


WireText = Annotated[str | None, BeforeValidator(_blank_is_none)]


class WireResponse(BaseModel):
    """Base of every answer: tolerant of extra fields and of numbers written as text."""

    model_config = ConfigDict(**_PASCAL_CASE, extra="ignore", coerce_numbers_to_str=True)


@dataclass(frozen=True)
class Address:
    """A name and postal address as Avarda reports it (``Invoicing*`` or ``Delivery*``)."""

    first_name: str | None = None
    last_name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    zip: str | None = None
    city: str | None = None

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.first_name,
                self.last_name,
                self.address_line1,
                self.address_line2,
                self.zip,
                self.city,
            )
        )


@dataclass(frozen=True)
class Customer:
    """The customer's contact details and invoicing address, flat (as the shop stores them)."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    zip: str | None = None
    city: str | None = None
    country: str | None = None


class PaymentStatus(WireResponse):
    """GetPaymentStatus: the only trustworthy account of a purchase.

    ``state`` and ``payment_method`` are enum members, or :class:`Unrecognized` for a
    value this code does not know (never an error). ``price`` is exact. The delivery
    address is kept apart from the invoicing one: :attr:`delivery` is None when Avarda
    reports no ``Delivery*`` values. ``UseDifferentDeliveryAddress`` is kept as sent.
    """

    state: Annotated[PurchaseState | Unrecognized, PlainValidator(_state)]
    purchase_id: WireText = None
    payment_method: Annotated[PaymentMethod | Unrecognized | None, PlainValidator(_method)] = None
    price: Annotated[
        Decimal | None, BeforeValidator(_blank_is_none), Field(allow_inf_nan=False)
    ] = None
    completed: WireText = None
    order_reference: WireText = None
    mail: WireText = None
    phone: WireText = None
    country_code: WireText = None
    customer_token: WireText = None
    invoicing_first_name: WireText = None
    invoicing_last_name: WireText = None
    invoicing_address_line1: WireText = None
    invoicing_address_line2: WireText = None
    invoicing_zip: WireText = None
    invoicing_city: WireText = None
    use_different_delivery_address: Annotated[bool | None, BeforeValidator(_blank_is_none)] = None
    delivery_first_name: WireText = None
    delivery_last_name: WireText = None
    delivery_address_line1: WireText = None
    delivery_address_line2: WireText = None
    delivery_zip: WireText = None
    delivery_city: WireText = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> PaymentStatus:
        """Parse Avarda's JSON object; ``ValueError`` when it says nothing usable."""
        return cls.model_validate(dict(data))

    @property
    def is_completed(self) -> bool:
        return self.state is PurchaseState.COMPLETED

    @property
    def is_dead(self) -> bool:
        return isinstance(self.state, PurchaseState) and self.state.is_dead

    @property
    def is_recognised(self) -> bool:
        """False when the state or the method is a value this code does not know."""
        return not isinstance(self.state, Unrecognized) and not isinstance(
            self.payment_method, Unrecognized
        )

    @property
    def state_label(self) -> str:
        return self.state.label

    @property
    def payment_method_label(self) -> str | None:
        return None if self.payment_method is None else self.payment_method.label

    @property
    def invoicing(self) -> Address:
        return Address(
            self.invoicing_first_name,
            self.invoicing_last_name,
            self.invoicing_address_line1,
            self.invoicing_address_line2,
            self.invoicing_zip,
            self.invoicing_city,
        )

    @property
    def delivery(self) -> Address | None:
        address = Address(
            self.delivery_first_name,
            self.delivery_last_name,
            self.delivery_address_line1,
            self.delivery_address_line2,
            self.delivery_zip,
            self.delivery_city,
        )
        return None if address.is_empty else address

    @property
    def customer(self) -> Customer:
        """Contact details and the invoicing address in one flat record."""
        return Customer(
            email=self.mail,
            phone=self.phone,
            first_name=self.invoicing_first_name,
            last_name=self.invoicing_last_name,
            address_line1=self.invoicing_address_line1,
            address_line2=self.invoicing_address_line2,
            zip=self.invoicing_zip,
            city=self.invoicing_city,
            country=self.country_code,
        )


class CheckoutErrorBody(WireResponse):
    """A refused checkout call: ``{"CheckOutErrorCode": 7, "Errors": ["…"]}``."""

    check_out_error_code: int | None = None
    errors: list[WireText] = []


class CommerceErrorEntry(WireResponse):
    """One entry of a refused Commerce call: ``{"ErrorCode": "10005", "ErrorMessage": …}``."""

    error_code: WireText = None
    error_message: WireText = None


# -- JSON ---------------------------------------------------------------------------------


def dumps_exact(payload: Any) -> str:
    """JSON with ``Decimal`` values written as exact JSON numbers (``249.50``).

    The standard encoder would need a float, and money never goes through a float
    here. Decimals are swapped for unique placeholders and written back as text.
    """
    marker = secrets.token_hex(8)
    decimals: list[Decimal] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Decimal):
            decimals.append(value)
            return f"{marker}:{len(decimals) - 1}"
        if isinstance(value, Mapping):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(payload), ensure_ascii=False)
    if not decimals:
        return text

    def number(match: re.Match[str]) -> str:
        if match.group(1) != marker:
            return match.group(0)
        return format(decimals[int(match.group(2))], "f")

    return _PLACEHOLDER.sub(number, text)


#: One pattern for every call: a pattern made from each call's marker would be compiled
#: anew every time (the marker is random, so the ``re`` cache never hits).
_PLACEHOLDER = re.compile(r'"([0-9a-f]{16}):(\d+)"')


def loads_strict(content: bytes) -> Any:
    """Avarda's JSON: numbers with a fraction as exact ``Decimal``; NaN, Infinity and
    duplicate keys refused (``ValueError``), as their meaning would be a guess."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    text = content.decode("utf-8-sig")
    return json.loads(text, parse_float=Decimal, parse_constant=constant, object_pairs_hook=pairs)
