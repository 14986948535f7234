"""The sandbox's settings: defaults, then ``instance/settings.env``, then the environment.

A ``test_config`` mapping replaces the file and the environment (defaults + mapping), so
tests are hermetic. Values from the file or the environment are strings and are converted
to the type of their default here; a value that cannot be converted stops the app with a
:class:`ConfigError` naming the setting, never a half-configured sandbox.

Errors never quote a setting's value (it may hold passwords: SANDBOX_MERCHANTS carries
site and callback passwords), nor chain the parser's exception, which would put the value
into the start-up traceback. A JSON error gives the line and column instead.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from sandbox.models import Merchant


class ConfigError(RuntimeError):
    """A setting has a wrong value; the message names it."""


#: Environment / settings-file names that feed a differently named config key.
RENAMED = {
    "SANDBOX_SECRET_KEY": "SECRET_KEY",
    "SANDBOX_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
}

FLOAT_KEYS = {
    "SANDBOX_DELIVERY_LEASE_SECONDS",
    "SANDBOX_DELIVERY_CONNECT_TIMEOUT",
    "SANDBOX_DELIVERY_READ_TIMEOUT",
    "SANDBOX_DELIVERY_POLL_INTERVAL",
}
INT_KEYS = {"SANDBOX_PURCHASE_TIMEOUT", "SANDBOX_SQLITE_BUSY_TIMEOUT_MS", "SHOP_PORT"}
BOOL_KEYS = {"TESTING"}


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "SECRET_KEY": "",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(instance_path) / 'sandbox.db'}",
        # Merchant rows hold callback credentials: keep SQL parameters out of error logs.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "SANDBOX_ADMIN_USERNAME": "sandbox",
        "SANDBOX_ADMIN_PASSWORD": "",
        "SHOP_PORT": 5000,
        "SHOP_PUBLIC_URL": "",
        "AVARDA_SITE_CODE": "",
        "AVARDA_SITE_PASSWORD": "",
        "CALLBACK_USERNAME": "",
        "CALLBACK_PASSWORD": "",
        "SANDBOX_MERCHANTS": [],
        "SANDBOX_PURCHASE_TIMEOUT": 1800,
        "SANDBOX_DELIVERY_LEASE_SECONDS": 60.0,
        "SANDBOX_DELIVERY_CONNECT_TIMEOUT": 3.0,
        "SANDBOX_DELIVERY_READ_TIMEOUT": 10.0,
        "SANDBOX_DELIVERY_POLL_INTERVAL": 0.5,
        "SANDBOX_SQLITE_BUSY_TIMEOUT_MS": 30000,
        "SESSION_COOKIE_NAME": "sandbox_session",
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
    }


def _convert(key: str, value: Any) -> Any:
    try:
        if key in FLOAT_KEYS and not isinstance(value, float):
            return float(value)
        if key in INT_KEYS and not isinstance(value, int):
            return int(value)
        if key in BOOL_KEYS and isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        if key == "SANDBOX_MERCHANTS" and isinstance(value, str):
            return json.loads(value) if value.strip() else []
    except json.JSONDecodeError as exc:
        # exc.msg may quote a character of the value: position only.
        raise ConfigError(
            f"{key} is not valid JSON (error at line {exc.lineno}, column {exc.colno})"
        ) from None
    except (TypeError, ValueError):
        kind = "a number" if key in FLOAT_KEYS else "an integer"
        raise ConfigError(f"{key} must be {kind}") from None
    return value


def load(instance_path: str, test_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Build the config mapping (see the module docstring for the order)."""
    config = defaults(instance_path)
    if test_config is None:
        sources: list[Mapping[str, Any]] = [
            {k: v for k, v in dotenv_values(Path(instance_path) / "settings.env").items()},
            os.environ,
        ]
    else:
        sources = [test_config]
    for source in sources:
        for name, value in source.items():
            if value is None:
                continue
            if source is not test_config and name in RENAMED.values():
                continue  # the shop's SECRET_KEY / DATABASE settings are not the sandbox's
            key = RENAMED.get(name, name)
            if key in config or name in RENAMED or source is test_config:
                config[key] = value
    for key in list(config):
        config[key] = _convert(key, config[key])
    if not config["SHOP_PUBLIC_URL"]:
        config["SHOP_PUBLIC_URL"] = f"http://127.0.0.1:{config['SHOP_PORT']}"
    if not config["SECRET_KEY"]:
        # Sessions then last one process only; `flask --app wsgi:app init-settings`
        # writes a real key.
        config["SECRET_KEY"] = secrets.token_hex(32)
        config["SANDBOX_EPHEMERAL_SECRET_KEY"] = True
    validate(config)
    return config


def validate(config: Mapping[str, Any]) -> None:
    lease = config["SANDBOX_DELIVERY_LEASE_SECONDS"]
    budget = config["SANDBOX_DELIVERY_CONNECT_TIMEOUT"] + config["SANDBOX_DELIVERY_READ_TIMEOUT"]
    for key in FLOAT_KEYS:
        if not math.isfinite(config[key]) or config[key] <= 0:
            raise ConfigError(f"{key} must be a positive number")
    if lease <= budget:
        raise ConfigError(
            "SANDBOX_DELIVERY_LEASE_SECONDS must exceed SANDBOX_DELIVERY_CONNECT_TIMEOUT + "
            "SANDBOX_DELIVERY_READ_TIMEOUT; otherwise a slow attempt's claim expires while it runs"
        )
    if config["SANDBOX_PURCHASE_TIMEOUT"] < 1:
        raise ConfigError("SANDBOX_PURCHASE_TIMEOUT must be at least 1 second")
    if not isinstance(config["SANDBOX_MERCHANTS"], list) or not all(
        isinstance(m, Mapping) and isinstance(m.get("site_code"), str) and m["site_code"]
        for m in config["SANDBOX_MERCHANTS"]
    ):
        raise ConfigError('SANDBOX_MERCHANTS must be a list of objects with a "site_code"')
    if not all(isinstance(m.get("site_password", ""), str) for m in config["SANDBOX_MERCHANTS"]):
        raise ConfigError("SANDBOX_MERCHANTS: a site_password must be a string")
    longest = Merchant.__table__.c.site_code.type.length
    if any(len(code) > longest for code in configured_merchants(config)):
        raise ConfigError(
            f"AVARDA_SITE_CODE or SANDBOX_MERCHANTS: a site_code is longer than {longest} "
            "characters"
        )
    try:
        has_host = bool(urlsplit(config["SHOP_PUBLIC_URL"]).hostname)
    except ValueError:
        has_host = False
    if not has_host:
        raise ConfigError("SHOP_PUBLIC_URL must be an absolute URL with a host")


def configured_merchants(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Site code -> configured merchant: site_password plus initial settings.

    The demo merchant comes from AVARDA_SITE_CODE/AVARDA_SITE_PASSWORD and sends
    CALLBACK_USERNAME/CALLBACK_PASSWORD as Basic auth. SANDBOX_MERCHANTS entries add
    merchants or, with the demo's site code, override the demo merchant's initial settings.
    """
    merchants: dict[str, dict[str, Any]] = {}
    code, password = config.get("AVARDA_SITE_CODE"), config.get("AVARDA_SITE_PASSWORD")
    if code and password:
        demo: dict[str, Any] = {"site_code": code, "site_password": password}
        if config.get("CALLBACK_USERNAME") and config.get("CALLBACK_PASSWORD"):
            demo["callback_authorization"] = {
                "scheme": "Basic",
                "username": config["CALLBACK_USERNAME"],
                "password": config["CALLBACK_PASSWORD"],
            }
        merchants[code] = demo
    for extra in config.get("SANDBOX_MERCHANTS") or []:
        merged = {**merchants.get(extra["site_code"], {}), **extra}
        merchants[extra["site_code"]] = merged
    return merchants
