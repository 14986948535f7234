"""How the sandbox's pages show money and times; registering this blueprint (it has no
routes) installs the template filters app-wide."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint

from sandbox.models import Purchase

bp = Blueprint("display", __name__)

#: A purchase's currency follows its country **(sandbox choice**: an Avarda site sells in
#: one country; Checkout 2.0's API carries no currency).
CURRENCIES = {"SE": "SEK", "FI": "EUR", "NO": "NOK", "DK": "DKK"}
SYMBOLS = {"SEK": "kr", "NOK": "kr", "DKK": "kr", "EUR": "€"}


def currency_of(purchase: Purchase | None) -> str:
    return CURRENCIES.get((purchase.country_code if purchase else None) or "SE", "SEK")


def format_money(amount: Decimal | int | None, purchase: Purchase | None = None) -> str:
    """``Decimal("1249.00")`` → ``"SEK 1,249.00"`` in English, ``"1 249,00 kr"`` in the
    Nordic languages (the purchase's ``UserLanguageCode``)."""
    if amount is None:
        return ""
    currency = currency_of(purchase)
    value = Decimal(amount).quantize(Decimal("0.01"))
    if purchase is None or purchase.user_language_code in (None, "en-US"):
        return f"{currency} {value:,.2f}".replace(f"{currency} -", f"-{currency} ")
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):,.2f}".split(".")
    return f"{sign}{whole.replace(',', ' ')},{cents} {SYMBOLS.get(currency, currency)}"


def format_utc(value: datetime | None, with_ms: bool = False) -> str:
    """The UTC fallback that dashboard.js rewrites in the reader's time zone."""
    if value is None:
        return ""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return (text + f".{value.microsecond // 1000:03d}" if with_ms else text) + " UTC"


def format_iso(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")


@bp.app_template_filter("money")
def money_filter(amount: Decimal | int | None, purchase: Purchase | None = None) -> str:
    return format_money(amount, purchase)


@bp.app_template_filter("utc")
def utc_filter(value: datetime | None, with_ms: bool = False) -> str:
    return format_utc(value, with_ms)


@bp.app_template_filter("isotime")
def isotime_filter(value: datetime | None) -> str:
    return format_iso(value)
