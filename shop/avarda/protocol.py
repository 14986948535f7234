"""What Avarda Checkout 2.0 says on the wire: states, payment methods, payloads.

Plain data, no I/O. See ``checkout2-protocol.md`` for the source of each value.
"""

from __future__ import annotations

import enum
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

PURCHASE_ID = re.compile(r"^[0-9a-f]{32}$")


class PurchaseState(enum.IntEnum):
    NEW = 0
    BEING_PROCESSED = 1
    COMPLETED = 2
    ERROR = 3
    WAITING_FOR_SIGNICAT = 4
    SESSION_TIMED_OUT = 5
    WAITING_FOR_CARD_PAYMENTS = 6
    WAITING_FOR_BANK_ID = 7
    CANCELLED = 8
    WAITING_FOR_FINNISH_DIRECT_PAYMENT = 9

    @property
    def label(self) -> str:
        """Avarda's own name, e.g. ``SessionTimedOut``."""
        return _LABELS[self]

    @property
    def is_completed(self) -> bool:
        return self is PurchaseState.COMPLETED

    @property
    def is_dead(self) -> bool:
        """Error, SessionTimedOut or Cancelled: the purchase can never complete."""
        return self in DEAD_STATES

    @property
    def is_waiting(self) -> bool:
        """The customer is at an external step (card 3-D Secure, bank, e-ID)."""
        return self in WAITING_STATES


_LABELS = {
    PurchaseState.NEW: "New",
    PurchaseState.BEING_PROCESSED: "BeingProcessed",
    PurchaseState.COMPLETED: "Completed",
    PurchaseState.ERROR: "Error",
    PurchaseState.WAITING_FOR_SIGNICAT: "WaitingForSignicat",
    PurchaseState.SESSION_TIMED_OUT: "SessionTimedOut",
    PurchaseState.WAITING_FOR_CARD_PAYMENTS: "WaitingForCardPayments",
    PurchaseState.WAITING_FOR_BANK_ID: "WaitingForBankId",
    PurchaseState.CANCELLED: "Cancelled",
    PurchaseState.WAITING_FOR_FINNISH_DIRECT_PAYMENT: "WaitingForFinnishDirectPayment",
}
DEAD_STATES = frozenset(
    {PurchaseState.ERROR, PurchaseState.SESSION_TIMED_OUT, PurchaseState.CANCELLED}
)
WAITING_STATES = frozenset(
    {
        PurchaseState.WAITING_FOR_SIGNICAT,
        PurchaseState.WAITING_FOR_CARD_PAYMENTS,
        PurchaseState.WAITING_FOR_BANK_ID,
        PurchaseState.WAITING_FOR_FINNISH_DIRECT_PAYMENT,
    }
)


class PaymentMethod(enum.IntEnum):
    INVOICE = 0
    LOAN = 1
    CARD = 2
    DIRECT_PAYMENT = 3
    PART_PAYMENT = 4
    SWISH = 5

    @property
    def label(self) -> str:
        return _METHOD_LABELS[self]


_METHOD_LABELS = {
    PaymentMethod.INVOICE: "Invoice",
    PaymentMethod.LOAN: "Loan",
    PaymentMethod.CARD: "Card",
    PaymentMethod.DIRECT_PAYMENT: "Direct payment",
    PaymentMethod.PART_PAYMENT: "Part payment",
    PaymentMethod.SWISH: "Swish",
}


def payment_method_label(value: int | None) -> str | None:
    """A readable name for any method value, including legacy ones this enum lacks."""
    if value is None:
        return None
    try:
        return PaymentMethod(value).label
    except ValueError:
        return f"Method {value}"


def minor_to_decimal(minor: int) -> Decimal:
    """``24950`` → ``Decimal("249.50")``."""
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def decimal_to_minor(amount: Decimal) -> int | None:
    """``Decimal("249.5")`` → ``24950``; None when it is not a whole number of öre."""
    minor = amount * 100
    if minor != minor.to_integral_value():
        return None
    return int(minor)


@dataclass(frozen=True)
class Item:
    """One cart row as Avarda wants it. ``amount`` is the row total incl. VAT."""

    description: str
    amount: Decimal
    tax_code: str
    tax_amount: Decimal
    notes: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "Description": self.description[:35],
            "Notes": self.notes[:35],
            "Amount": self.amount,
            "TaxCode": self.tax_code,
            "TaxAmount": self.tax_amount,
        }


@dataclass(frozen=True)
class Customer:
    """The customer details Avarda reports (the ``Invoicing*`` address)."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    zip: str | None = None
    city: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class PaymentStatus:
    """GetPaymentStatus: the only trustworthy account of a purchase."""

    purchase_id: str
    state: PurchaseState | int  # an int only for a value this code does not know
    payment_method: int | None
    price: Decimal | None
    completed: str | None
    order_reference: str | None
    customer: Customer = field(default_factory=Customer)

    @property
    def state_label(self) -> str:
        if isinstance(self.state, PurchaseState):
            return self.state.label
        return f"State {self.state}"

    @property
    def is_completed(self) -> bool:
        return self.state == PurchaseState.COMPLETED

    @property
    def is_dead(self) -> bool:
        return isinstance(self.state, PurchaseState) and self.state.is_dead

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> PaymentStatus:
        """Parse Avarda's JSON (numbers already as ``Decimal``); ValueError if malformed."""
        purchase_id = data.get("PurchaseId")
        raw_state = data.get("State")
        if not isinstance(purchase_id, str) or isinstance(raw_state, bool):
            raise ValueError("GetPaymentStatus: PurchaseId or State missing")
        if not isinstance(raw_state, int):
            raise ValueError("GetPaymentStatus: State is not an integer")
        try:
            state: PurchaseState | int = PurchaseState(raw_state)
        except ValueError:
            state = raw_state
        method = data.get("PaymentMethod")
        price = data.get("Price")
        if isinstance(price, int | float) and not isinstance(price, bool):
            price = Decimal(str(price))
        if price is not None and not isinstance(price, Decimal):
            raise ValueError("GetPaymentStatus: Price is not a number")

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(
            purchase_id=purchase_id,
            state=state,
            payment_method=method
            if isinstance(method, int) and not isinstance(method, bool)
            else None,
            price=price,
            completed=text("Completed"),
            order_reference=text("OrderReference"),
            customer=Customer(
                email=text("Mail"),
                phone=text("Phone"),
                first_name=text("InvoicingFirstName"),
                last_name=text("InvoicingLastName"),
                address_line1=text("InvoicingAddressLine1"),
                address_line2=text("InvoicingAddressLine2"),
                zip=text("InvoicingZip"),
                city=text("InvoicingCity"),
                country=text("CountryCode"),
            ),
        )


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
    return re.sub(rf'"{marker}:(\d+)"', lambda m: format(decimals[int(m.group(1))], "f"), text)
