"""Template helpers shared by every page: the money filter, the cart badge, times.

This blueprint has no routes; registering it installs app-wide Jinja filters and a
context processor, so the app factory needs to know nothing about templates.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, session, url_for
from werkzeug.exceptions import default_exceptions

from shop.cart import Cart

bp = Blueprint("templating", __name__)

CURRENCY_SUFFIX = {"SEK": "kr", "NOK": "kr", "DKK": "kr", "EUR": "€"}


def format_money(minor_units: int | None, currency: str = "SEK") -> str:
    """``124900`` → ``"1 249,00 kr"``: Swedish style, exact integer arithmetic.

    Digits are grouped by three with a plain space and the decimals follow a
    comma. Floats are refused: money here is always integer minor units (öre).
    """
    if minor_units is None:
        return ""
    if isinstance(minor_units, bool) or not isinstance(minor_units, int):
        raise TypeError(f"money must be integer minor units, got {type(minor_units).__name__}")
    sign = "-" if minor_units < 0 else ""
    whole, cents = divmod(abs(minor_units), 100)
    grouped = f"{whole:,}".replace(",", " ")
    suffix = CURRENCY_SUFFIX.get(currency, currency)
    return f"{sign}{grouped},{cents:02d} {suffix}"


def format_time(value: datetime | None, fmt: str = "%H:%M:%S") -> str:
    """Format a stored time (naive values are UTC) for display, in UTC.

    The demo has no notion of the customer's time zone; UTC is at least honest.
    """
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(fmt)


def format_datetime(value: datetime | None) -> str:
    return format_time(value, "%Y-%m-%d %H:%M:%S UTC")


def format_iso(value: datetime | None) -> str:
    """Machine-readable time for ``<time datetime="…">``, to the millisecond (what a
    browser's ``Date`` reads, and enough to tell which of two notifications came first)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


#: The UTC fallbacks of ``<time data-local="…">``: static/js/site.js rewrites them in
#: the reader's own time zone, with the same precision.
UTC_STYLES = {
    "datetime": "%Y-%m-%d %H:%M:%S UTC",
    "time": "%H:%M:%S UTC",
}


def format_utc(value: datetime | None, style: str = "datetime") -> str:
    """``style`` "datetime", "time" or "time-ms" (milliseconds, for timelines)."""
    if value is None:
        return ""
    if style == "time-ms":
        return format_time(value, "%H:%M:%S.") + f"{format_time(value, '%f')[:3]} UTC"
    return format_time(value, UTC_STYLES[style])


@bp.app_template_filter("money")
def money_filter(minor_units: int | None, currency: str = "SEK") -> str:
    return format_money(minor_units, currency)


@bp.app_template_filter("datetime")
def datetime_filter(value: datetime | None) -> str:
    return format_datetime(value)


@bp.app_template_filter("utc")
def utc_filter(value: datetime | None, style: str = "datetime") -> str:
    return format_utc(value, style)


@bp.app_template_filter("isotime")
def isotime_filter(value: datetime | None) -> str:
    return format_iso(value)


_SAFE_IMAGE = re.compile(r"[a-z0-9][a-z0-9_-]*\.(svg|png|jpg|webp)")


@functools.cache
def _picture_exists(folder: str, name: str) -> bool:
    return (Path(folder) / "img" / "products" / name).is_file()


@bp.app_template_global("product_picture_url")
def product_picture_url(image: str | None) -> str:
    """URL of a product's hand-drawn picture (``Product.image``), or a placeholder."""
    name = image if image and _SAFE_IMAGE.fullmatch(image) else ""
    folder = current_app.static_folder or ""
    if not name or not _picture_exists(folder, name):
        name = "placeholder.svg"
    return url_for("static", filename=f"img/products/{name}")


@bp.app_template_global("is_default_error_message")
def is_default_error_message(status: int, message: str | None) -> bool:
    """True when ``message`` is Werkzeug's generic text, which our error pages replace."""
    if not message:
        return True
    exc = default_exceptions.get(status)
    return exc is not None and message in (exc.description, exc().name)


@bp.app_context_processor
def cart_badge() -> dict[str, Any]:
    """The number of items in the cart, for the header on every page."""
    return {"cart_count": Cart(session).count()}
