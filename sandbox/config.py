"""The sandbox's settings (``SandboxSettings``) and the Flask config built from them.

Every setting comes from the environment first, then ``instance/settings.env``, then a
default; a ``test_config`` mapping replaces the file and the environment (defaults +
mapping), so tests are hermetic (:mod:`common.settings`). A value that cannot be
converted or checked stops the app with a :class:`ConfigError` naming the setting, never
a half-configured sandbox.

Errors never quote a setting's value (it may hold passwords: ``SANDBOX_MERCHANTS``
carries site and callback passwords), nor chain the parser's exception, which would put
the value into the start-up traceback. A JSON error gives the line and column instead.

The shop and the sandbox share the demo's settings file: the sandbox reads its own
``SANDBOX_SECRET_KEY`` and ``SANDBOX_DATABASE_URL`` (Flask's ``SECRET_KEY`` and
``SQLALCHEMY_DATABASE_URI``), never the shop's ``SECRET_KEY`` or ``DATABASE_URL``.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from common.db import max_length
from common.settings import AppSettings, ConfigError
from common.settings import load as load_settings
from sandbox.models import Merchant

__all__ = ["ConfigError", "SandboxSettings", "configured_merchants", "load"]

SETTINGS_FILE = "settings.env"

#: Flask's names for two of the sandbox's settings (``test_config`` may use either).
RENAMED = {
    "SANDBOX_SECRET_KEY": "SECRET_KEY",
    "SANDBOX_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
}

PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]

#: Flask settings the sandbox sets itself (``test_config`` may override them).
FLASK_DEFAULTS: dict[str, Any] = {
    # Merchant rows hold callback credentials: keep SQL parameters out of error logs.
    "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
    "SESSION_COOKIE_NAME": "sandbox_session",
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    "WTF_CSRF_TIME_LIMIT": None,
}


class SandboxSettings(AppSettings):
    """The sandbox's settings, by their names in lower case."""

    sandbox_secret_key: SecretStr = SecretStr("")
    #: Empty: ``instance/sandbox.db``.
    sandbox_database_url: str = ""
    sandbox_admin_username: str = "sandbox"
    sandbox_admin_password: SecretStr = SecretStr("")
    shop_port: int = 5000
    #: Empty: ``http://127.0.0.1:$SHOP_PORT``.
    shop_public_url: str = ""
    avarda_site_code: str = ""
    avarda_site_password: SecretStr = SecretStr("")
    callback_username: str = ""
    callback_password: SecretStr = SecretStr("")
    sandbox_merchants: Annotated[list[dict[str, Any]], NoDecode] = []
    sandbox_purchase_timeout: Annotated[int, Field(ge=1)] = 1800
    sandbox_delivery_lease_seconds: PositiveSeconds = 60.0
    sandbox_delivery_connect_timeout: PositiveSeconds = 3.0
    sandbox_delivery_read_timeout: PositiveSeconds = 10.0
    sandbox_delivery_poll_interval: PositiveSeconds = 0.5
    sandbox_sqlite_busy_timeout_ms: int = 30000

    @field_validator("sandbox_merchants", mode="before")
    @classmethod
    def _merchants_json(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return []
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            # exc.msg may quote a character of the value: position only.
            raise ValueError(
                f"not valid JSON (error at line {exc.lineno}, column {exc.colno})"
            ) from None

    @field_validator("sandbox_merchants")
    @classmethod
    def _merchants_shape(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not all(isinstance(m.get("site_code"), str) and m["site_code"] for m in value):
            raise ValueError('must be a list of objects with a "site_code"')
        if not all(isinstance(m.get("site_password", ""), str) for m in value):
            raise ValueError("a site_password must be a string")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self.shop_public_url = self.shop_public_url or f"http://127.0.0.1:{self.shop_port}"
        try:
            has_host = bool(urlsplit(self.shop_public_url).hostname)
        except ValueError:
            has_host = False
        if not has_host:
            raise ValueError("SHOP_PUBLIC_URL must be an absolute URL with a host")
        budget = self.sandbox_delivery_connect_timeout + self.sandbox_delivery_read_timeout
        if not math.isfinite(budget) or self.sandbox_delivery_lease_seconds <= budget:
            raise ValueError(
                "SANDBOX_DELIVERY_LEASE_SECONDS must exceed SANDBOX_DELIVERY_CONNECT_TIMEOUT + "
                "SANDBOX_DELIVERY_READ_TIMEOUT; otherwise a slow attempt's claim expires while "
                "it runs"
            )
        return self


def load(instance_path: str, test_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The Flask config: the settings (see the module docstring for their order) in upper
    case with plain values, under Flask's names where it has its own, plus what Flask
    needs. Other ``test_config`` keys pass through unchanged."""
    instance = Path(instance_path)
    given = None
    if test_config is not None:
        inverse = {flask: ours for ours, flask in RENAMED.items()}
        given = {inverse.get(k, k): v for k, v in test_config.items()}
    settings = load_settings(SandboxSettings, env_file=instance / SETTINGS_FILE, given=given)
    config: dict[str, Any] = dict(FLASK_DEFAULTS)
    for name, value in settings:
        key = name.upper()
        config[RENAMED.get(key, key)] = (
            value.get_secret_value() if isinstance(value, SecretStr) else value
        )
    if not config["SQLALCHEMY_DATABASE_URI"]:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'sandbox.db'}"
    if given is not None:
        fields = SandboxSettings.model_fields
        config.update({k: v for k, v in given.items() if k.lower() not in fields})
    if not config["SECRET_KEY"]:
        # Sessions then last one process only; `flask --app wsgi:app init-settings`
        # writes a real key.
        config["SECRET_KEY"] = secrets.token_hex(32)
        config["SANDBOX_EPHEMERAL_SECRET_KEY"] = True
    longest = max_length(Merchant.__table__.c.site_code) or 64
    if any(len(code) > longest for code in configured_merchants(config)):
        raise ConfigError(
            f"AVARDA_SITE_CODE or SANDBOX_MERCHANTS: a site_code is longer than {longest} "
            "characters"
        )
    return config


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
