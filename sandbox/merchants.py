"""Merchants: authentication by site code, settings (read, validated partial update),
and the idempotent upsert of configured merchants."""

from __future__ import annotations

import base64
import hmac
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from sandbox.config import configured_merchants
from sandbox.db import db, transaction
from sandbox.errors import NotFoundError, ValidationError
from sandbox.models import Merchant

MASK = "***"
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1"]

#: Defaults for a new merchant (the demo's: Avarda's documented Checkout 3 schedule).
DEFAULT_SETTINGS: dict[str, Any] = {
    "callback_enabled": True,
    "callback_authorization": {"scheme": "None"},
    "callback_allowed_hosts": None,
    "retry_schedule_ms": [0, 5_000, 30_000, 120_000, 600_000],
    "retry_every_ms": 600_000,
    "max_attempts": 20,
    "first_attempt_delay_ms": 0,
    "callback_copies": 1,
    "fail_first_attempts": 0,
    "done_delay_seconds": 0,
    "never_call_done": False,
    "purchase_timeout_seconds": None,  # None: SANDBOX_PURCHASE_TIMEOUT
}

_INT_LIMITS = {
    "retry_every_ms": (0, 86_400_000),
    "max_attempts": (1, 1000),
    "first_attempt_delay_ms": (0, 86_400_000),
    "callback_copies": (1, 20),
    "fail_first_attempts": (0, 1000),
    "done_delay_seconds": (0, 3600),
    "purchase_timeout_seconds": (1, 7 * 86_400),
}
_BOOL_KEYS = {"callback_enabled", "never_call_done"}

#: RFC 6750's b64token (RFC 7235's token68): what a Bearer token may hold on the wire.
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: Longest callback_authorization parts: the column's length; 2000 for the TEXT secret.
_AUTH_LIMITS = {
    "username": Merchant.__table__.c.callback_auth_username.type.length,
    "password": 2000,
    "token": 2000,
}


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


def default_allowed_hosts() -> list[str]:
    shop_host = urlsplit(current_app.config["SHOP_PUBLIC_URL"]).hostname or ""
    hosts = list(LOOPBACK_HOSTS)
    if shop_host and shop_host.lower() not in hosts:
        hosts.append(shop_host.lower())
    return hosts


def allowed_hosts(merchant: Merchant) -> list[str]:
    if merchant.callback_allowed_hosts is None:
        return default_allowed_hosts()
    return list(merchant.callback_allowed_hosts)


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
        "callback_allowed_hosts": allowed_hosts(merchant),
        "retry_schedule_ms": list(merchant.retry_schedule_ms),
        "retry_every_ms": merchant.retry_every_ms,
        "max_attempts": merchant.max_attempts,
        "first_attempt_delay_ms": merchant.first_attempt_delay_ms,
        "callback_copies": merchant.callback_copies,
        "fail_first_attempts": merchant.fail_first_attempts,
        "done_delay_seconds": merchant.done_delay_seconds,
        "never_call_done": merchant.never_call_done,
        "purchase_timeout_seconds": merchant.purchase_timeout_seconds,
    }


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_auth(value: Any, merchant: Merchant | None) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(["callback_authorization must be an object."])
    scheme = value.get("scheme")
    allowed = {"Basic": {"scheme", "username", "password"}, "Bearer": {"scheme", "token"}}
    allowed["None"] = {"scheme"}
    if scheme not in allowed:
        raise ValidationError(
            ['callback_authorization.scheme must be "Basic", "Bearer" or "None".']
        )
    unknown = set(value) - allowed[scheme]
    if unknown:
        raise ValidationError([f"callback_authorization: unknown keys {sorted(unknown)}."])
    keep_secret = merchant is not None and merchant.callback_auth_scheme == scheme
    for key in sorted(allowed[scheme] - {"scheme"}, reverse=True):
        field = value.get(key)
        if field == MASK and keep_secret:
            continue
        _check_auth_part(key, field)
    return dict(value)


def _check_auth_part(key: str, field: Any) -> None:
    """Refuse what could not be stored or sent in an Authorization header.

    A Bearer token goes on the wire as is, so it must be token68 (ASCII): anything else
    makes http.client fail in the worker. Basic parts are base64-encoded UTF-8, so any
    text without control characters will do (and no ":" in the username). Messages
    never quote the value.
    """
    name = f"callback_authorization.{key}"
    limit = _AUTH_LIMITS[key]
    if not isinstance(field, str) or not field or len(field) > limit:
        raise ValidationError([f"{name} must be a non-empty string of at most {limit} characters."])
    if key == "token":
        if not _TOKEN68.fullmatch(field):
            raise ValidationError(
                [f"{name} may only hold ASCII letters, digits and -._~+/ (then optional =)."]
            )
    elif any(unicodedata.category(c) in {"Cc", "Cs"} for c in field):
        raise ValidationError([f"{name} has control or invalid characters."])
    elif key == "username" and ":" in field:
        raise ValidationError([f"{name} cannot contain ':'."])


def validate_settings(data: Any, merchant: Merchant | None = None) -> dict[str, Any]:
    """Check a (partial) settings mapping; returns it cleaned or raises ValidationError.

    Unknown keys and wrong types are errors (bool is not an int here).
    """
    if not isinstance(data, Mapping):
        raise ValidationError(["The body must be a JSON object of settings."])
    errors: list[str] = []
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key == "site_code" and merchant is not None and value == merchant.site_code:
            continue
        if key not in DEFAULT_SETTINGS:
            errors.append(f"Unknown setting {key!r}.")
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                errors.append(f"{key} must be true or false.")
            clean[key] = value
        elif key in _INT_LIMITS:
            low, high = _INT_LIMITS[key]
            if not _is_int(value) or not low <= value <= high:
                errors.append(f"{key} must be an integer from {low} to {high}.")
            clean[key] = value
        elif key == "retry_schedule_ms":
            if (
                not isinstance(value, list)
                or len(value) > 1000
                or not all(_is_int(v) and 0 <= v <= 86_400_000 for v in value)
            ):
                errors.append("retry_schedule_ms must be a list of integers from 0 to 86400000.")
            clean[key] = value
        elif key == "callback_allowed_hosts" and value is None:
            clean[key] = None  # back to the default
        elif key == "callback_allowed_hosts":
            if not isinstance(value, list) or not all(
                isinstance(h, str) and h.strip() and len(h) <= 253 for h in value
            ):
                errors.append("callback_allowed_hosts must be a list of host names or IPs.")
            else:
                clean[key] = [h.strip().lower().strip("[]") for h in value]
        elif key == "callback_authorization":
            try:
                clean[key] = _validate_auth(value, merchant)
            except ValidationError as exc:
                errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    return clean


def _apply(merchant: Merchant, clean: Mapping[str, Any]) -> None:
    for key, value in clean.items():
        if key == "callback_authorization":
            scheme = value["scheme"]
            same = merchant.callback_auth_scheme == scheme
            merchant.callback_auth_scheme = scheme
            if scheme == "Basic":
                merchant.callback_auth_username = value["username"]
                if not (same and value["password"] == MASK):
                    merchant.callback_auth_secret = value["password"]
            elif scheme == "Bearer":
                merchant.callback_auth_username = None
                if not (same and value["token"] == MASK):
                    merchant.callback_auth_secret = value["token"]
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
    """Create every configured merchant that is missing; returns the created site codes.

    Existing rows are left alone: settings changed at run time survive restarts.
    A configured merchant with invalid initial settings stops here with a clear error.
    """
    created: list[str] = []
    for code, conf in configured_merchants(current_app.config).items():
        initial = {k: v for k, v in conf.items() if k not in {"site_code", "site_password"}}
        clean = validate_settings(initial)
        try:
            with transaction():
                exists = db.session.scalar(sa.select(Merchant.id).filter_by(site_code=code))
                if exists is not None:
                    continue
                merchant = Merchant(
                    site_code=code,
                    callback_auth_scheme="None",
                    retry_schedule_ms=list(DEFAULT_SETTINGS["retry_schedule_ms"]),
                    retry_every_ms=DEFAULT_SETTINGS["retry_every_ms"],
                    max_attempts=DEFAULT_SETTINGS["max_attempts"],
                    purchase_timeout_seconds=current_app.config["SANDBOX_PURCHASE_TIMEOUT"],
                )
                _apply(merchant, clean)
                db.session.add(merchant)
                created.append(code)
        except IntegrityError:
            continue  # created concurrently by another process: fine
    return created


def init_db() -> None:
    """Create the tables and store configured merchants (in an app context).

    Idempotent: existing merchants keep the settings changed at run time.
    """
    from sandbox import models  # noqa: F401 - the models register the tables

    db.create_all()
    ensure_configured()
