"""The demo's settings file and the text ``flask --app wsgi:app setup`` prints.

``make run`` calls ``flask --app wsgi:app init-settings`` (this module's
:func:`ensure_settings`), then ``flask --app wsgi:app setup`` (migrations, catalogue,
admin, then :func:`describe`), then ``flask --app wsgi:sandbox init-db``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

SETTINGS_FILE = "settings.env"


def generated_settings() -> dict[str, str]:
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


def ensure_settings(path: Path) -> bool:
    """Write the demo settings file if it does not exist yet; True if written.

    The file is created with mode 0600 and never overwritten, so restarting the
    demo keeps its logins and its databases' credentials valid.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{k}={v}\n" for k, v in generated_settings().items())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(
            "# Generated on first run by `flask --app wsgi:app init-settings`. Never commit.\n"
        )
        fh.write(body)
    return True


def sandbox_login(settings_file: Path) -> tuple[str, str]:
    """The sandbox admin's login as the sandbox will read it (environment first, then
    the settings file); only for showing it in the demo."""
    file = dotenv_values(settings_file) if settings_file.exists() else {}

    def value(key: str) -> str:
        return os.environ.get(key) or file.get(key) or ""

    return value("SANDBOX_ADMIN_USERNAME") or "sandbox", value("SANDBOX_ADMIN_PASSWORD")


def describe(shop: Mapping[str, object], sandbox_login: tuple[str, str], sandbox_port: str) -> str:
    """Where the demo is and how to log in.

    The logins are shown in demo mode only: in production they come from the operator,
    and this command's output may end up in deployment logs.
    """
    sandbox_url = f"http://127.0.0.1:{sandbox_port}/CheckOut2/Sandbox/"
    lines = [
        f"Shop:     {shop['SHOP_PUBLIC_URL']}/  (Avarda: {shop['AVARDA_BASE_URL']})",
        f"Sandbox:  {sandbox_url}",
    ]
    if shop.get("SHOP_ENV", "demo") == "demo":
        lines.insert(1, f"  admin:  {shop['ADMIN_EMAIL']} / {shop['ADMIN_PASSWORD']}")
        lines.append(f"  admin:  {sandbox_login[0]} / {sandbox_login[1]}")
    return "\n".join(lines)
