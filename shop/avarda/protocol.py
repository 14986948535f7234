"""Avarda Checkout 2.0's vocabulary: purchase states, payment methods, languages, money.

Plain data, no I/O. Each value is from ``docs/avarda-checkout2-protocol.md`` (the wire
contract this package follows) and Avarda's "Enumerations" page.

A value Avarda sends that this code does not know is never guessed at: it becomes
:class:`Unrecognized`, which keeps the raw value so that whoever acts on it (the
confirm step) can record it and ask a human.
"""

from __future__ import annotations

import enum
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal, TypeVar

#: A purchase id as Avarda issues it: 32 lowercase hexadecimal characters.
PURCHASE_ID: Final = re.compile(r"^[0-9a-f]{32}$")

#: ``UserLanguageCode``: the five cultures Avarda's form supports (default en-US).
Language = Literal["sv-SE", "fi-FI", "en-US", "nb-NO", "da-DK"]
LANGUAGES: Final[tuple[Language, ...]] = ("sv-SE", "fi-FI", "en-US", "nb-NO", "da-DK")


class PurchaseState(enum.IntEnum):
    """``State`` in GetPaymentStatus. Only COMPLETED means the customer paid."""

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
        return _STATE_LABELS[self]

    @property
    def is_completed(self) -> bool:
        return self is PurchaseState.COMPLETED

    @property
    def is_dead(self) -> bool:
        """Error, SessionTimedOut or Cancelled: the purchase can never complete."""
        return self in DEAD_STATES


_STATE_LABELS = {
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
DEAD_STATES: Final = frozenset(
    {PurchaseState.ERROR, PurchaseState.SESSION_TIMED_OUT, PurchaseState.CANCELLED}
)


class PaymentMethod(enum.IntEnum):
    """``PaymentMethod`` in GetPaymentStatus, as Avarda's Enumerations page lists it.

    ``UNKNOWN`` (99) is Avarda's own documented value for "unknown"; a value missing
    from this list (10, 14, …) is not this member but :class:`Unrecognized`.
    """

    INVOICE = 0
    LOAN = 1
    CARD = 2
    DIRECT_PAYMENT = 3
    PART_PAYMENT = 4
    SWISH = 5
    HIGH_LOAN_AMOUNT = 6
    PAYPAL = 7
    PAY_ON_DELIVERY = 8
    B2B_INVOICE = 9
    MASTERPASS = 11
    MOBILEPAY = 12
    VIPPS = 13
    UNKNOWN = 99

    @property
    def label(self) -> str:
        """A name for people, e.g. ``Part payment``."""
        return _METHOD_LABELS[self]


_METHOD_LABELS = {
    PaymentMethod.INVOICE: "Invoice",
    PaymentMethod.LOAN: "Loan",
    PaymentMethod.CARD: "Card",
    PaymentMethod.DIRECT_PAYMENT: "Direct payment",
    PaymentMethod.PART_PAYMENT: "Part payment",
    PaymentMethod.SWISH: "Swish",
    PaymentMethod.HIGH_LOAN_AMOUNT: "High loan amount",
    PaymentMethod.PAYPAL: "PayPal",
    PaymentMethod.PAY_ON_DELIVERY: "Pay on delivery",
    PaymentMethod.B2B_INVOICE: "B2B invoice",
    PaymentMethod.MASTERPASS: "Masterpass",
    PaymentMethod.MOBILEPAY: "MobilePay",
    PaymentMethod.VIPPS: "Vipps",
    PaymentMethod.UNKNOWN: "Unknown (Avarda)",
}

_SHORT_FIELD = {"PaymentMethod": "Method"}
#: Longest raw value kept from an unrecognised answer (it is shown and stored).
RAW_LIMIT: Final = 64


@dataclass(frozen=True)
class Unrecognized:
    """A ``State`` or ``PaymentMethod`` value this code does not know.

    ``raw`` is the value as Avarda sent it (a JSON text for anything but a string,
    at most :data:`RAW_LIMIT` characters). Nothing is inferred from it: the caller
    records it and leaves the decision to a person.
    """

    field: str
    raw: str

    @property
    def label(self) -> str:
        """``State 12``, ``Method 14``: the value, never a guessed name."""
        return f"{_SHORT_FIELD.get(self.field, self.field)} {self.raw}"

    def __str__(self) -> str:
        return self.label


E = TypeVar("E", bound=enum.IntEnum)


def recognise(enum_type: type[E], field: str, value: Any) -> E | Unrecognized:
    """``value`` (a JSON number or numeric string) as a member of ``enum_type``.

    ``2``, ``2.0`` and ``"2"`` all mean 2. Anything else (another number, a name,
    ``true``, an object) is returned as :class:`Unrecognized`; this never raises.
    """
    number = _integral(value)
    if number is not None:
        try:
            return enum_type(number)
        except ValueError:
            pass
    return Unrecognized(field, raw_text(value))


def _integral(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and len(value) <= 20:
        try:
            value = Decimal(value)
        except ArithmeticError:
            return None
    if isinstance(value, float):
        value = Decimal(value) if math.isfinite(value) else None
    # A huge exponent ("1e999999999") is refused before any arithmetic on it.
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 7:
        if value == value.to_integral_value():
            return int(value)
    return None


def raw_text(value: Any) -> str:
    """A short, printable text for a value received from Avarda."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, Decimal):
        text = str(value)
    else:
        text = json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= RAW_LIMIT else text[: RAW_LIMIT - 1] + "…"


def state_label(state: PurchaseState | Unrecognized) -> str:
    return state.label


def payment_method_label(value: PaymentMethod | Unrecognized | int | None) -> str | None:
    """A readable name for a method, including one this code does not recognise."""
    if value is None:
        return None
    if isinstance(value, PaymentMethod | Unrecognized):
        return value.label
    method = recognise(PaymentMethod, "PaymentMethod", value)
    return method.label if isinstance(method, PaymentMethod) else f"Method {value}"


def minor_to_decimal(minor: int) -> Decimal:
    """``24950`` → ``Decimal("249.50")``."""
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def decimal_to_minor(amount: Decimal) -> int | None:
    """``Decimal("249.5")`` → ``24950``; None when it is not a whole number of öre."""
    if not amount.is_finite():
        return None
    minor = amount * 100
    if minor != minor.to_integral_value():
        return None
    return int(minor)
