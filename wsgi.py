"""Entry point that builds the shop and the Avarda sandbox.

This is the only module that knows both apps. They never import each other and
meet only over HTTP, exactly as the shop would meet Avarda's stage environment.

``wsgi:app`` is the shop and ``wsgi:sandbox`` the sandbox, for gunicorn and for
``flask --app``. Both are built lazily, on first attribute access, so that
``flask --app wsgi:sandbox deliver`` does not build the shop as well.

``python wsgi.py setup`` prepares a fresh checkout for the demo: it generates
``instance/settings.env`` (secrets and demo logins, never committed), migrates the
shop's database (and seeds the catalogue) and creates the sandbox's, then prints the
URLs and logins.
"""

from __future__ import annotations

import functools
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

INSTANCE = Path(__file__).resolve().parent / "instance"
SETTINGS_FILE = INSTANCE / "settings.env"


@functools.cache
def _shop() -> Flask:
    from shop.factory import create_app

    return create_app()


@functools.cache
def _sandbox() -> Flask:
    from sandbox import create_app

    return create_app()


def __getattr__(name: str) -> Flask:
    if name == "app":
        return _shop()
    if name == "sandbox":
        return _sandbox()
    raise AttributeError(name)


def _generated_settings() -> dict[str, str]:
    """Fresh demo secrets. The same values serve both sides of the demo: the shop's
    Avarda credentials are the sandbox demo merchant's, and the callback credentials
    the shop expects are what that merchant sends."""
    return {
        "SECRET_KEY": secrets.token_hex(32),
        "SANDBOX_SECRET_KEY": secrets.token_hex(32),
        "AVARDA_SITE_CODE": "demo-" + secrets.token_hex(4),
        "AVARDA_SITE_PASSWORD": secrets.token_urlsafe(24),
        "CALLBACK_USERNAME": "avarda",
        "CALLBACK_PASSWORD": secrets.token_urlsafe(24),
        "ADMIN_EMAIL": "admin@example.com",
        "ADMIN_PASSWORD": secrets.token_urlsafe(12),
        "SANDBOX_ADMIN_USERNAME": "sandbox",
        "SANDBOX_ADMIN_PASSWORD": secrets.token_urlsafe(12),
    }


def ensure_settings(path: Path = SETTINGS_FILE) -> bool:
    """Write the demo settings file if it does not exist yet; True if written.

    The file is created with mode 0600 and never overwritten, so restarting the
    demo keeps its logins and its databases' credentials valid.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{k}={v}\n" for k, v in _generated_settings().items())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Generated on first run by `python wsgi.py setup`. Never commit.\n")
        fh.write(body)
    return True


def setup(generate_settings: bool = True) -> None:
    """Settings, shop migrations, sandbox schema; then print where things are.

    With ``generate_settings=False`` (the end-to-end tests, which pass every setting in
    the environment) nothing is written to ``instance/``.
    """
    created = ensure_settings() if generate_settings else False
    shop, sandbox = _shop(), _sandbox()
    with shop.app_context():
        from shop.factory import setup_database

        setup_database()
    with sandbox.app_context():
        from sandbox import init_db

        init_db()
    print(describe(shop.config, sandbox.config, created))


def describe(shop: Mapping[str, Any], sandbox: Mapping[str, Any], created: bool) -> str:
    """Where the demo is and how to log in.

    The logins are shown in demo mode only: in production they come from the operator,
    and this command's output may end up in deployment logs.
    """
    sandbox_url = f"http://127.0.0.1:{os.environ.get('SANDBOX_PORT', '5001')}/CheckOut2/Sandbox/"
    lines = [
        f"Settings: {SETTINGS_FILE} ({'generated now' if created else 'kept'})",
        f"Shop:     {shop['SHOP_PUBLIC_URL']}/  (Avarda: {shop['AVARDA_BASE_URL']})",
        f"Sandbox:  {sandbox_url}",
    ]
    if shop.get("SHOP_ENV", "demo") == "demo":
        lines[2:2] = [f"  admin:  {shop['ADMIN_EMAIL']} / {shop['ADMIN_PASSWORD']}"]
        lines.append(
            f"  admin:  {sandbox['SANDBOX_ADMIN_USERNAME']} / {sandbox['SANDBOX_ADMIN_PASSWORD']}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] != ["setup"]:
        sys.exit("usage: python wsgi.py setup")
    setup()
