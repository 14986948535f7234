"""The shop's settings: defaults, then ``instance/settings.env``, then the environment.

``create_app(test_config)`` with a mapping uses defaults + that mapping only, so a test
never picks up a developer's instance file or shell environment.

Every value that arrives as text (file or environment) is converted and checked here,
once, at start-up; a wrong value stops the app with a message naming the key (never its
value, which may be a secret).
"""

from __future__ import annotations

import logging
import math
import os
import secrets
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from shop.avarda import LANGUAGES

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.env"

#: Keys read from the instance file and the environment (nothing else is picked up).
KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "AVARDA_BASE_URL",
    "AVARDA_SITE_CODE",
    "AVARDA_SITE_PASSWORD",
    "AVARDA_TIMEOUT",
    "AVARDA_STATUS_TIMEOUT",
    "AVARDA_LANGUAGE",
    "CALLBACK_USERNAME",
    "CALLBACK_PASSWORD",
    "CALLBACK_PREVIOUS_PASSWORD",
    "CALLBACK_JWT_SECRET",
    "SHOP_PUBLIC_URL",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "RECONCILE_MIN_AGE",
    "UNDELIVERED_ALERT_DAYS",
    "SHOP_ENV",
    "SHOP_PORT",
    "SANDBOX_PORT",
    "MAIL_TRANSPORT",
    "MAIL_DIR",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_STARTTLS",
    "MAIL_FROM",
    "MAIL_TIMEOUT",
)

TIMEOUTS = ("AVARDA_TIMEOUT", "AVARDA_STATUS_TIMEOUT", "MAIL_TIMEOUT")
FLOATS = (*TIMEOUTS, "RECONCILE_MIN_AGE")
DAYS = ("UNDELIVERED_ALERT_DAYS",)
#: Longer than any sensible timeout or age, and far below what sockets and datetimes
#: can represent (about 9e9 seconds), so no setting can overflow either.
MAX_SECONDS = 366 * 24 * 3600.0
ENVIRONMENTS = ("demo", "production")
MAIL_TRANSPORTS = ("file", "smtp")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class ConfigError(RuntimeError):
    """The shop's settings are unusable; the message names the key, never its value."""


def defaults(
    instance_path: str, shop_port: str = "5000", sandbox_port: str = "5001"
) -> dict[str, Any]:
    return {
        "SHOP_ENV": "demo",
        "SECRET_KEY": None,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'shop.db'}",
        "AVARDA_BASE_URL": f"http://127.0.0.1:{sandbox_port}/CheckOut2",
        "AVARDA_SITE_CODE": "",
        "AVARDA_SITE_PASSWORD": "",
        "AVARDA_TIMEOUT": 10.0,
        # GetPaymentStatus in the confirm step: short, the caller is waiting (or Avarda is).
        "AVARDA_STATUS_TIMEOUT": 5.0,
        "AVARDA_LANGUAGE": "en-US",
        "CALLBACK_USERNAME": "",
        "CALLBACK_PASSWORD": "",
        "CALLBACK_PREVIOUS_PASSWORD": "",
        "CALLBACK_JWT_SECRET": "",
        "SHOP_PUBLIC_URL": f"http://127.0.0.1:{shop_port}",
        "ADMIN_EMAIL": "",
        "ADMIN_PASSWORD": "",
        "RECONCILE_MIN_AGE": 120.0,
        # The back office lists paid orders not delivered in full after this many days.
        "UNDELIVERED_ALERT_DAYS": 3.0,
        "MAIL_TRANSPORT": "file",
        "MAIL_DIR": str(Path(instance_path) / "mail"),
        "MAIL_SERVER": "",
        "MAIL_PORT": 587,
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "MAIL_STARTTLS": True,
        "MAIL_FROM": "shop@example.com",
        "MAIL_TIMEOUT": 10.0,
        "CALLBACK_MAX_BODY": 4096,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    }


def _from_outside(instance_path: str) -> dict[str, str]:
    """Instance file values overridden by environment values, for the known keys only."""
    file = Path(instance_path) / SETTINGS_FILE
    values: dict[str, str] = {}
    if file.exists():
        values.update({k: v for k, v in dotenv_values(file).items() if k in KEYS and v})
    values.update({k: os.environ[k] for k in KEYS if os.environ.get(k)})
    return values


def normalise_database_url(url: str) -> str:
    """Accept the common spellings of a PostgreSQL URL and use the installed driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def build_config(instance_path: str, test_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The complete, checked configuration (see the module docstring for the order)."""
    if test_config is None:
        outside = _from_outside(instance_path)
        config = defaults(
            instance_path,
            shop_port=outside.get("SHOP_PORT", "5000"),
            sandbox_port=outside.get("SANDBOX_PORT", "5001"),
        )
        config.update(outside)
    else:
        config = defaults(instance_path)
        config.update(test_config)

    if config.get("DATABASE_URL") and not (
        test_config and "SQLALCHEMY_DATABASE_URI" in test_config
    ):
        config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])

    for key in FLOATS:
        try:
            config[key] = float(config[key])
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number of seconds") from None
        if not math.isfinite(config[key]) or config[key] > MAX_SECONDS:
            raise ConfigError(f"{key} must be a finite number of seconds, at most a year")
        if key in TIMEOUTS and config[key] <= 0:
            raise ConfigError(f"{key} must be more than 0 seconds")
        if config[key] < 0:
            raise ConfigError(f"{key} must not be negative")
    for key in DAYS:
        try:
            config[key] = float(config[key])
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number of days") from None
        if not (math.isfinite(config[key]) and 0 <= config[key] <= 3650):
            raise ConfigError(f"{key} must be a number of days from 0 to 3650")
    for key in ("AVARDA_BASE_URL", "SHOP_PUBLIC_URL"):
        value = str(config[key]).rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ConfigError(f"{key} must be an http:// or https:// URL")
        config[key] = value
    # Behind an HTTPS proxy the session cookie must never travel over plain HTTP.
    config.setdefault("SESSION_COOKIE_SECURE", config["SHOP_PUBLIC_URL"].startswith("https://"))
    if config["AVARDA_LANGUAGE"] not in LANGUAGES:
        raise ConfigError(f"AVARDA_LANGUAGE must be one of {', '.join(LANGUAGES)}")
    if config["SHOP_ENV"] not in ENVIRONMENTS:
        raise ConfigError(f"SHOP_ENV must be one of {', '.join(ENVIRONMENTS)}")
    _check_mail(config)

    if config["SHOP_ENV"] == "production":
        _require_production_secrets(config)
    elif not config.get("SECRET_KEY"):
        log.warning("SECRET_KEY is not set: using a random key, sessions end at restart")
        config["SECRET_KEY"] = secrets.token_hex(32)
    return config


def _check_mail(config: dict[str, Any]) -> None:
    """Convert and check the MAIL_* settings (the mailer's; see ``shop.orders.outbox``)."""
    if config["MAIL_TRANSPORT"] not in MAIL_TRANSPORTS:
        raise ConfigError(f"MAIL_TRANSPORT must be one of {', '.join(MAIL_TRANSPORTS)}")
    try:
        port = int(config["MAIL_PORT"])
    except (TypeError, ValueError):
        raise ConfigError("MAIL_PORT must be a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise ConfigError("MAIL_PORT must be a port number (1-65535)")
    config["MAIL_PORT"] = port
    starttls = config["MAIL_STARTTLS"]
    if not isinstance(starttls, bool):
        word = str(starttls).strip().lower()
        if word not in _TRUE + _FALSE:
            raise ConfigError("MAIL_STARTTLS must be true or false")
        config["MAIL_STARTTLS"] = word in _TRUE
    if not str(config["MAIL_DIR"] or "").strip():
        raise ConfigError("MAIL_DIR must be a directory")
    if not _is_address(config["MAIL_FROM"]):
        raise ConfigError("MAIL_FROM must be an e-mail address, such as shop@example.com")
    if bool(config["MAIL_USERNAME"]) != bool(config["MAIL_PASSWORD"]):
        raise ConfigError("MAIL_USERNAME and MAIL_PASSWORD must be set together")
    if config["MAIL_TRANSPORT"] == "smtp" and not config["MAIL_SERVER"]:
        raise ConfigError("MAIL_SERVER is required when MAIL_TRANSPORT is smtp")


def _is_address(value: Any) -> bool:
    """A single address, optionally with a display name; no header injection."""
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        return False
    _name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    return bool(local and at and domain and " " not in address)


def _require_production_secrets(config: Mapping[str, Any]) -> None:
    """Refuse to start a production shop that could not authenticate Avarda's callback."""
    missing = [
        key
        for key in ("SECRET_KEY", "AVARDA_SITE_CODE", "AVARDA_SITE_PASSWORD")
        if not config.get(key)
    ]
    has_basic = bool(config.get("CALLBACK_USERNAME") and config.get("CALLBACK_PASSWORD"))
    if not has_basic and not config.get("CALLBACK_JWT_SECRET"):
        missing.append("CALLBACK_USERNAME and CALLBACK_PASSWORD (or CALLBACK_JWT_SECRET)")
    if missing:
        raise ConfigError("SHOP_ENV=production refuses to start without: " + "; ".join(missing))
