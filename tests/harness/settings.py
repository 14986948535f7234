"""The one config factory: every setting of a shop and its Avarda sandbox, for every test.

One set of values, under the names ``instance/settings.env`` and the environment use, is
rendered three ways:

- :meth:`Settings.env`: the environment of the Procfile's processes (what ``make run``
  reads), for a :class:`~tests.harness.stack.Stack`;
- :meth:`Settings.shop_config`: the ``test_config`` of an in-process shop
  (``shop.create_app(...)``), for unit tests and a stack's in-process twin;
- :meth:`Settings.sandbox_config`: the same for the sandbox.

A ``Settings`` without ports is a shop whose Avarda is unreachable (a closed port), so a
test that reaches Avarda without a sandbox fails loudly. The credentials are fixed test
values, the same on both sides: the shop's Avarda login is the sandbox merchant's, and the
callback credentials the shop expects are what that merchant sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

SITE_CODE = "test-shop"
SITE_PASSWORD = "test-site-password"
CALLBACK_USERNAME = "avarda"
CALLBACK_PASSWORD = "s3cret-callback-password"
JWT_SECRET = "a-jwt-secret-that-is-at-least-32-bytes-long!"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password"
SANDBOX_ADMIN = ("sandbox-admin", "sandbox-admin-password")
#: Nothing listens on port 9 (discard): connections are refused at once.
UNREACHABLE_AVARDA = "http://127.0.0.1:9/CheckOut2"

#: Read by the Procfile's command lines, by neither app.
PROCFILE_VARIABLES = frozenset(
    {
        "SHOP_PORT",
        "SANDBOX_PORT",
        "DELIVERY_POLL_SECONDS",
        "SWEEP_EVERY_SECONDS",
        "MAIL_EVERY_SECONDS",
    }
)
#: The shop's settings that the sandbox reads too (its demo merchant and callback target).
SHARED = frozenset(
    {"AVARDA_SITE_CODE", "AVARDA_SITE_PASSWORD", "CALLBACK_USERNAME", "CALLBACK_PASSWORD"}
    | {"SHOP_PUBLIC_URL"}
)


@dataclass(frozen=True)
class Settings:
    """A shop and its sandbox: databases, ports (``None``: not served) and overrides.

    ``overrides`` use the environment's names (``RECONCILE_MIN_AGE``,
    ``SANDBOX_MERCHANTS``...) and typed values (numbers, lists); :meth:`env` turns them
    into text.
    """

    database_url: str
    sandbox_database_url: str = "sqlite://"
    shop_port: int | None = None
    sandbox_port: int | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shop_url(self) -> str:
        if self.shop_port is None:
            raise ValueError("this shop is not served (no shop_port)")
        return f"http://127.0.0.1:{self.shop_port}"

    @property
    def sandbox_url(self) -> str:
        if self.sandbox_port is None:
            raise ValueError("this sandbox is not served (no sandbox_port)")
        return f"http://127.0.0.1:{self.sandbox_port}"

    def replace(self, **overrides: Any) -> Settings:
        """The same settings with more overrides."""
        return replace(self, overrides={**self.overrides, **overrides})

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": self.database_url,
            "AVARDA_BASE_URL": UNREACHABLE_AVARDA,
            "AVARDA_SITE_CODE": SITE_CODE,
            "AVARDA_SITE_PASSWORD": SITE_PASSWORD,
            "CALLBACK_USERNAME": CALLBACK_USERNAME,
            "CALLBACK_PASSWORD": CALLBACK_PASSWORD,
            "ADMIN_EMAIL": ADMIN_EMAIL,
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "SANDBOX_SECRET_KEY": "test-sandbox-secret-key",
            "SANDBOX_DATABASE_URL": self.sandbox_database_url,
            "SANDBOX_ADMIN_USERNAME": SANDBOX_ADMIN[0],
            "SANDBOX_ADMIN_PASSWORD": SANDBOX_ADMIN[1],
        }
        if self.shop_port is not None:
            values.update(SHOP_PORT=self.shop_port, SHOP_PUBLIC_URL=self.shop_url)
        if self.sandbox_port is not None:
            values.update(SANDBOX_PORT=self.sandbox_port, AVARDA_BASE_URL=self.avarda_url)
        values.update(self.overrides)
        return values

    @property
    def avarda_url(self) -> str:
        """The shop's ``AVARDA_BASE_URL``: the sandbox's Checkout 2.0 root."""
        if self.sandbox_port is None:
            return str(self.overrides.get("AVARDA_BASE_URL", UNREACHABLE_AVARDA))
        return f"{self.sandbox_url}/CheckOut2"

    def env(self) -> dict[str, str]:
        """The settings as environment variables (only these: no developer's shell leaks in)."""
        return {name: _as_text(value) for name, value in self.values().items()}

    def shop_config(self, **overrides: Any) -> dict[str, Any]:
        """``test_config`` for ``shop.create_app``: these settings, plus ``overrides``
        (Flask config keys, for example ``WTF_CSRF_ENABLED=False``)."""
        config: dict[str, Any] = {"TESTING": True}
        for name, value in self.values().items():
            if name.startswith("SANDBOX_") or name in PROCFILE_VARIABLES:
                continue
            config["SQLALCHEMY_DATABASE_URI" if name == "DATABASE_URL" else name] = value
        config.update(overrides)
        return config

    def sandbox_config(self, **overrides: Any) -> dict[str, Any]:
        """``test_config`` for ``sandbox.create_app``."""
        renamed = {
            "SANDBOX_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
            "SANDBOX_SECRET_KEY": "SECRET_KEY",
        }
        config: dict[str, Any] = {"TESTING": True}
        for name, value in self.values().items():
            if name in PROCFILE_VARIABLES:
                continue
            if name.startswith("SANDBOX_") or name in SHARED:
                config[renamed.get(name, name)] = value
        config.update(overrides)
        return config


def shop_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    """``test_config`` for an in-process shop on ``database_url`` whose Avarda is unreachable."""
    return Settings(database_url).shop_config(**overrides)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
