"""Merchants: authentication by site code, settings (read, validated partial update),
and the idempotent upsert of configured merchants.

Settings are checked by :class:`sandbox.wire.MerchantSettings`; the secrets of the
callback's Authorization header are never shown (``***``) nor quoted in an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from sandbox import wire
from sandbox.config import configured_merchants
from sandbox.db import db, transaction
from sandbox.errors import NotFoundError, ValidationError
from sandbox.models import Merchant

MASK = wire.MASK

#: Defaults for a new merchant (the demo's: Avarda's documented Checkout 3 schedule).
DEFAULT_SETTINGS: dict[str, Any] = {
    "callback_enabled": True,
    "callback_authorization": {"scheme": "None"},
    "callback_allowed_origins": None,
    "retry_schedule_ms": [0, 5_000, 30_000, 120_000, 600_000],
    "retry_every_ms": 600_000,
    "max_attempts": 20,
    "first_attempt_delay_ms": 0,
    "callback_copies": 1,
    "fail_first_attempts": 0,
    "done_delay_seconds": 0,
    "never_call_done": False,
    "realistic_latency": False,
    "purchase_timeout_seconds": None,  # None: SANDBOX_PURCHASE_TIMEOUT
}


#: Realistic latency **(sandbox choice**, for demos: the sandbox otherwise answers in a
#: few milliseconds, too fast to see the shop's "Confirming your payment…"): each server
#: API call takes this long (seconds), and the first callback attempt leaves this much
#: later after completion.
API_LATENCY = (0.15, 0.45)
CALLBACK_LATENCY = (0.3, 0.9)

#: The fault settings every preset starts from: Avarda on a good day.
NO_FAULTS: dict[str, Any] = {
    "callback_enabled": True,
    "retry_schedule_ms": DEFAULT_SETTINGS["retry_schedule_ms"],
    "retry_every_ms": DEFAULT_SETTINGS["retry_every_ms"],
    "first_attempt_delay_ms": 0,
    "callback_copies": 1,
    "fail_first_attempts": 0,
    "done_delay_seconds": 0,
    "never_call_done": False,
}

#: Fault presets for the demo's stories, by name; the dashboard's merchant page explains
#: each. Authorization, allowed origins, timeouts and latency are left as they are.
PRESETS: dict[str, dict[str, Any]] = {
    "no-faults": NO_FAULTS,
    # done() late, the callback after 10 s: time to close the tab before either.
    "close-the-browser": NO_FAULTS | {"done_delay_seconds": 30, "first_attempt_delay_ms": 10_000},
    # No callback, done() late: only the shop's sweep can confirm a closed tab's order.
    "callbacks-off": NO_FAULTS | {"callback_enabled": False, "done_delay_seconds": 30},
    # Three failed attempts with quick retries, and no done(): the retries confirm it.
    "flaky-shop": NO_FAULTS
    | {
        "fail_first_attempts": 3,
        "retry_schedule_ms": [0, 2_000, 4_000, 8_000],
        "retry_every_ms": 10_000,
        "never_call_done": True,
    },
}


def api_pause(merchant: Merchant) -> None:
    """Answer like a server on the internet, when the merchant asked for it."""
    if merchant.realistic_latency:
        time.sleep(random.uniform(*API_LATENCY))


def callback_latency(merchant: Merchant) -> timedelta:
    if not merchant.realistic_latency:
        return timedelta(0)
    return timedelta(seconds=random.uniform(*CALLBACK_LATENCY))


def apply_preset(site_code: str, name: str) -> dict[str, Any]:
    """Apply :data:`PRESETS` ``[name]`` (NotFoundError for another name)."""
    if name not in PRESETS:
        raise NotFoundError(f"No preset {name!r}.")
    return update(site_code, dict(PRESETS[name]))


def site_password(site_code: str) -> str | None:
    merchant = configured_merchants(current_app.config).get(site_code)
    return None if merchant is None else merchant.get("site_password")


def authenticate(site_code: str | None, password: str | None) -> Merchant | None:
    """The merchant for these site credentials, or None. Compares in constant time."""
    if not site_code or password is None:
        return None
    expected = site_password(site_code)
    if not expected or not hmac.compare_digest(password.encode(), expected.encode()):
        return None
    merchant = db.session.scalar(sa.select(Merchant).filter_by(site_code=site_code))
    if merchant is None:
        # Configured but init_db() has not stored it yet: store it now.
        ensure_configured()
        merchant = db.session.scalar(sa.select(Merchant).filter_by(site_code=site_code))
    return merchant


def get(site_code: str) -> Merchant:
    merchant = db.session.scalar(sa.select(Merchant).filter_by(site_code=site_code))
    if merchant is None:
        raise NotFoundError(f"No merchant with site code {site_code!r}.")
    return merchant


def default_allowed_origins() -> list[str]:
    """The origin of SHOP_PUBLIC_URL: the one shop the demo merchant belongs to."""
    origin = wire.origin_of(current_app.config["SHOP_PUBLIC_URL"])
    return [origin] if origin else []


def allowed_origins(merchant: Merchant) -> list[str]:
    """Where this merchant's callbacks may go, whose pages may frame its checkout form and
    where the browser may return after an external step (``callback_allowed_origins``).

    **(sandbox choice)** The URLs travel through the customer's browser (``init``), so
    without this list anyone holding a purchase id could have the merchant's static
    Authorization header sent to a server of their own.
    """
    if merchant.callback_allowed_origins is None:
        return default_allowed_origins()
    return list(merchant.callback_allowed_origins)


def origin_allowed(url: str | None, allowed: list[str] | tuple[str, ...]) -> bool:
    """``url``'s origin (scheme, host and port) is exactly one of ``allowed``."""
    origin = wire.origin_of(url)
    return origin is not None and origin in allowed


def authorization_header(merchant: Merchant) -> str | None:
    """The static Authorization header value this merchant's callbacks carry."""
    if merchant.callback_auth_scheme == "Basic":
        raw = f"{merchant.callback_auth_username or ''}:{merchant.callback_auth_secret or ''}"
        return "Basic " + base64.b64encode(raw.encode()).decode()
    if merchant.callback_auth_scheme == "Bearer":
        return f"Bearer {merchant.callback_auth_secret or ''}"
    return None


def settings(merchant: Merchant) -> dict[str, Any]:
    """The merchant's settings as the admin API shows them (secrets masked)."""
    if merchant.callback_auth_scheme == "Basic":
        auth: dict[str, Any] = {
            "scheme": "Basic",
            "username": merchant.callback_auth_username,
            "password": MASK,
        }
    elif merchant.callback_auth_scheme == "Bearer":
        auth = {"scheme": "Bearer", "token": MASK}
    else:
        auth = {"scheme": "None"}
    return {
        "site_code": merchant.site_code,
        "callback_enabled": merchant.callback_enabled,
        "callback_authorization": auth,
        "callback_allowed_origins": allowed_origins(merchant),
        "retry_schedule_ms": list(merchant.retry_schedule_ms),
        "retry_every_ms": merchant.retry_every_ms,
        "max_attempts": merchant.max_attempts,
        "first_attempt_delay_ms": merchant.first_attempt_delay_ms,
        "callback_copies": merchant.callback_copies,
        "fail_first_attempts": merchant.fail_first_attempts,
        "done_delay_seconds": merchant.done_delay_seconds,
        "never_call_done": merchant.never_call_done,
        "realistic_latency": merchant.realistic_latency,
        "purchase_timeout_seconds": merchant.purchase_timeout_seconds,
    }


def validate_settings(data: Any, merchant: Merchant | None = None) -> dict[str, Any]:
    """The settings ``data`` gives, checked by :class:`sandbox.wire.MerchantSettings`
    (by field name); raises ValidationError listing every problem, never quoting a value.
    """
    context = {"current_scheme": merchant.callback_auth_scheme if merchant else None}
    settings = wire.parse(wire.MerchantSettings, data, context)
    if settings.site_code is not None and (
        merchant is None or settings.site_code != merchant.site_code
    ):
        raise ValidationError(["site_code cannot be changed."])
    return settings.given()


def _apply(merchant: Merchant, clean: Mapping[str, Any]) -> None:
    for key, value in clean.items():
        if key == "callback_authorization":
            assert isinstance(value, wire.CallbackAuthorization)
            merchant.callback_auth_scheme = value.scheme
            if value.scheme == "Basic":
                merchant.callback_auth_username = value.username
                if value.password != MASK:  # MASK passed validation: same scheme, keep it
                    merchant.callback_auth_secret = value.password
            elif value.scheme == "Bearer":
                merchant.callback_auth_username = None
                if value.token != MASK:
                    merchant.callback_auth_secret = value.token
            else:
                merchant.callback_auth_username = merchant.callback_auth_secret = None
        elif key == "purchase_timeout_seconds" and value is None:
            merchant.purchase_timeout_seconds = current_app.config["SANDBOX_PURCHASE_TIMEOUT"]
        else:
            setattr(merchant, key, value)


def update(site_code: str, data: Any) -> dict[str, Any]:
    """Partial update of a merchant's settings; all-or-nothing. Returns the new settings."""
    with transaction():
        merchant = db.session.scalar(
            sa.select(Merchant).filter_by(site_code=site_code).with_for_update()
        )
        if merchant is None:
            raise NotFoundError(f"No merchant with site code {site_code!r}.")
        _apply(merchant, validate_settings(data, merchant))
        result = settings(merchant)
    return result


def ensure_configured() -> list[str]:
    """Store the configured merchants; returns the site codes created or updated.

    A missing merchant is created with its configured settings. An existing one gets
    them again only when the configuration changed since they were last applied (for
    the demo merchant: new ``CALLBACK_USERNAME``/``CALLBACK_PASSWORD``), so settings
    changed at run time (dashboard, admin API) survive restarts until then. A configured
    merchant with invalid initial settings stops here with a clear error.
    """
    changed: list[str] = []
    for code, conf in configured_merchants(current_app.config).items():
        initial = {k: v for k, v in conf.items() if k not in {"site_code", "site_password"}}
        clean = validate_settings(initial)
        digest = _digest(initial)
        try:
            with transaction():
                merchant = db.session.scalar(
                    sa.select(Merchant).filter_by(site_code=code).with_for_update()
                )
                if merchant is None:
                    merchant = Merchant(
                        site_code=code,
                        callback_auth_scheme="None",
                        retry_schedule_ms=list(DEFAULT_SETTINGS["retry_schedule_ms"]),
                        retry_every_ms=DEFAULT_SETTINGS["retry_every_ms"],
                        max_attempts=DEFAULT_SETTINGS["max_attempts"],
                        purchase_timeout_seconds=current_app.config["SANDBOX_PURCHASE_TIMEOUT"],
                    )
                    db.session.add(merchant)
                elif merchant.configured_digest == digest:
                    continue
                _apply(merchant, clean)
                merchant.configured_digest = digest
                changed.append(code)
        except IntegrityError:
            continue  # created concurrently by another process: fine
    return changed


def _digest(initial: Mapping[str, Any]) -> str:
    """A fingerprint of a merchant's configured settings (they include its callback
    secret, which the row holds anyway)."""
    text = json.dumps(initial, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def init_db() -> None:
    """Create the tables and store configured merchants (in an app context).

    Idempotent: existing merchants keep the settings changed at run time, unless their
    configuration changed (:func:`ensure_configured`).
    """
    from sandbox import models  # noqa: F401 - the models register the tables

    db.create_all()
    _add_missing_columns()
    ensure_configured()


#: Columns that databases made by an earlier version lack, with their definitions.
ADDED_COLUMNS = {
    "callback_allowed_origins": "JSON",
    "realistic_latency": "BOOLEAN NOT NULL DEFAULT false",
    "configured_digest": "VARCHAR(64)",
}


def _add_missing_columns() -> None:
    """Add :data:`ADDED_COLUMNS` to an older database's ``merchants`` table (the sandbox
    has no migrations: ``create_all`` adds tables, never columns)."""
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("merchants")}
    for name, definition in ADDED_COLUMNS.items():
        if name not in columns:
            with db.engine.begin() as connection:
                connection.exec_driver_sql(f"ALTER TABLE merchants ADD COLUMN {name} {definition}")
