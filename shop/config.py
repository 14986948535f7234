"""The shop's settings (``ShopSettings``) and the Flask config built from them.

Every setting comes from the environment first, then ``instance/settings.env``, then a
default that works for the demo; ``create_app(test_config)`` uses the mapping alone
(:mod:`common.settings`). Each value is converted and checked here, once, at start-up:
a wrong value stops the app with a :class:`ConfigError` naming the setting, never its
value. Production (``SHOP_ENV=production``) refuses demo secrets: it will not start
without a ``SECRET_KEY``, Avarda credentials and callback credentials.

Passwords and keys are ``SecretStr``: a ``ShopSettings`` printed or logged shows
``**********``. The Flask config (:func:`build_config`) holds the plain values, under
the same names in upper case, because Flask and its extensions read them there.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from common.settings import AppSettings, ConfigError, load

from .avarda import Language

__all__ = ["MAX_SECONDS", "ConfigError", "ShopSettings", "build_config"]

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.env"

#: Longer than any sensible timeout or age, and far below what sockets and datetimes
#: can represent (about 9e9 seconds), so no setting can overflow either.
MAX_SECONDS = 366 * 24 * 3600.0

#: A timeout: finite, above 0, at most a year.
Timeout = Annotated[float, Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False)]
#: An age: finite, 0 or more, at most a year.
Age = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=1, le=65535)]

#: Flask settings the shop sets itself (``test_config`` may override them).
FLASK_DEFAULTS: dict[str, Any] = {
    "CALLBACK_MAX_BODY": 4096,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
}


class ShopSettings(AppSettings):
    """The settings in the README's table, by the same names in lower case."""

    shop_env: Literal["demo", "production"] = "demo"
    secret_key: SecretStr = SecretStr("")
    shop_port: Port = 5000
    sandbox_port: Port = 5001
    #: Empty: ``http://127.0.0.1:$SHOP_PORT``.
    shop_public_url: str = ""
    database_url: str = ""
    #: Empty: the sandbox, ``http://127.0.0.1:$SANDBOX_PORT/CheckOut2``.
    avarda_base_url: str = ""
    avarda_site_code: str = ""
    avarda_site_password: SecretStr = SecretStr("")
    avarda_timeout: Timeout = 10.0
    #: GetPaymentStatus in the confirm step: short, the caller is waiting (or Avarda is).
    avarda_status_timeout: Timeout = 5.0
    #: GetPaymentStatus for the server-side callback: shorter still (Avarda retries a 503).
    avarda_callback_status_timeout: Timeout = 2.0
    #: Calls to Avarda one process makes at a time; more wait (the callback does not).
    avarda_max_concurrent_calls: Annotated[int, Field(ge=1, le=1000)] = 8
    #: ``UserLanguageCode`` of new purchases: the language of Avarda's form.
    avarda_language: Language = "en-US"
    callback_username: str = ""
    callback_password: SecretStr = SecretStr("")
    callback_previous_password: SecretStr = SecretStr("")
    callback_jwt_secret: SecretStr = SecretStr("")
    admin_email: str = ""
    admin_password: SecretStr = SecretStr("")
    reconcile_min_age: Age = 120.0
    #: The back office lists paid orders not delivered in full after this many days.
    undelivered_alert_days: Annotated[float, Field(ge=0, le=3650, allow_inf_nan=False)] = 3.0
    #: Reverse proxies in front of the shop that append to ``X-Forwarded-For`` (nginx: 1).
    #: 0 when clients reach gunicorn directly: the header is then anyone's to forge.
    trusted_proxies: Annotated[int, Field(ge=0, le=5)] = 0
    #: The notification log (``/admin/notifications``) keeps callbacks this many days.
    callback_log_days: Annotated[float, Field(ge=1, le=3650, allow_inf_nan=False)] = 30.0
    mail_transport: Literal["file", "smtp"] = "file"
    #: Empty: ``instance/mail``.
    mail_dir: str = ""
    mail_server: str = ""
    mail_port: Port = 587
    mail_username: str = ""
    mail_password: SecretStr = SecretStr("")
    mail_starttls: bool = True
    mail_from: str = "shop@example.com"
    mail_timeout: Timeout = 10.0

    @field_validator("shop_public_url", "avarda_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("mail_from")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _is_address(value):
            raise ValueError("must be an e-mail address, such as shop@example.com")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self.shop_public_url = self.shop_public_url or f"http://127.0.0.1:{self.shop_port}"
        self.avarda_base_url = (
            self.avarda_base_url or f"http://127.0.0.1:{self.sandbox_port}/CheckOut2"
        )
        if bool(self.mail_username) != bool(self.mail_password.get_secret_value()):
            raise ValueError("MAIL_USERNAME and MAIL_PASSWORD must be set together")
        if self.mail_transport == "smtp" and not self.mail_server:
            raise ValueError("MAIL_SERVER is required when MAIL_TRANSPORT is smtp")
        if self.shop_env == "production":
            self._require_production_secrets()
        return self

    def _require_production_secrets(self) -> None:
        """Refuse to start a production shop that could not authenticate Avarda's callback."""
        missing = [
            name.upper()
            for name in ("secret_key", "avarda_site_code", "avarda_site_password")
            if not _plain(getattr(self, name))
        ]
        has_basic = self.callback_username and self.callback_password.get_secret_value()
        if not has_basic and not self.callback_jwt_secret.get_secret_value():
            missing.append("CALLBACK_USERNAME and CALLBACK_PASSWORD (or CALLBACK_JWT_SECRET)")
        if missing:
            raise ValueError("SHOP_ENV=production refuses to start without: " + "; ".join(missing))


def normalise_database_url(url: str) -> str:
    """Accept the common spellings of a PostgreSQL URL and use the installed driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def build_config(instance_path: str, test_config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The Flask config: the settings (see the module docstring for their order) in
    upper case with plain values, plus what Flask and its extensions need.

    ``test_config`` may also set Flask's own keys (``TESTING``,
    ``SQLALCHEMY_DATABASE_URI``, …), which pass through unchanged.
    """
    instance = Path(instance_path)
    settings = load(ShopSettings, env_file=instance / SETTINGS_FILE, given=test_config)
    config: dict[str, Any] = dict(FLASK_DEFAULTS)
    config.update({name.upper(): _plain(value) for name, value in settings})
    config["DATABASE_URL"] = settings.database_url or f"sqlite:///{instance / 'shop.db'}"
    config["MAIL_DIR"] = settings.mail_dir or str(instance / "mail")
    if test_config is not None:
        config.update({k: v for k, v in test_config.items() if k.lower() not in _field_names()})
    config.setdefault("SQLALCHEMY_DATABASE_URI", config["DATABASE_URL"])
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    # Behind an HTTPS proxy the session cookie must never travel over plain HTTP.
    config.setdefault("SESSION_COOKIE_SECURE", settings.shop_public_url.startswith("https://"))
    if not config["SECRET_KEY"]:
        log.warning("SECRET_KEY is not set: using a random key, sessions end at restart")
        config["SECRET_KEY"] = secrets.token_hex(32)
    return config


@functools.cache
def _field_names() -> frozenset[str]:
    return frozenset(ShopSettings.model_fields)


def _plain(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _is_address(value: Any) -> bool:
    """A single address, optionally with a display name; no header injection."""
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        return False
    _name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    return bool(local and at and domain and " " not in address)
