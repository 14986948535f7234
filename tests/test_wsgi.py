"""wsgi.py's lazy app attributes, and the demo's settings file and setup text (shop.demo)."""

from __future__ import annotations

import stat

import pytest
from dotenv import dotenv_values

import wsgi
from shop import demo

REQUIRED = {
    "SECRET_KEY",
    "SANDBOX_SECRET_KEY",
    "AVARDA_SITE_CODE",
    "AVARDA_SITE_PASSWORD",
    "CALLBACK_USERNAME",
    "CALLBACK_PASSWORD",
    "ADMIN_EMAIL",
    "ADMIN_PASSWORD",
    "SANDBOX_ADMIN_USERNAME",
    "SANDBOX_ADMIN_PASSWORD",
}


def test_settings_are_generated_private_and_complete(tmp_path):
    path = tmp_path / "instance" / "settings.env"
    assert demo.ensure_settings(path) is True
    values = dotenv_values(path)
    assert set(values) == REQUIRED
    assert all(values.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_settings_are_never_overwritten(tmp_path):
    path = tmp_path / "settings.env"
    demo.ensure_settings(path)
    first = path.read_text()
    assert demo.ensure_settings(path) is False
    assert path.read_text() == first


def test_two_generations_share_no_secret(tmp_path):
    a, b = tmp_path / "a.env", tmp_path / "b.env"
    demo.ensure_settings(a)
    demo.ensure_settings(b)
    va, vb = dotenv_values(a), dotenv_values(b)
    for key in ("SECRET_KEY", "AVARDA_SITE_PASSWORD", "CALLBACK_PASSWORD", "ADMIN_PASSWORD"):
        assert va[key] != vb[key]


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError):
        wsgi.shop_and_sandbox  # noqa: B018


SHOP = {
    "SHOP_PUBLIC_URL": "http://127.0.0.1:5000",
    "AVARDA_BASE_URL": "http://127.0.0.1:5001/CheckOut2",
    "ADMIN_EMAIL": "admin@example.com",
    "ADMIN_PASSWORD": "shop-admin-secret",
}
SANDBOX = ("sandbox", "sandbox-secret")


def test_demo_setup_prints_urls_and_logins():
    text = demo.describe({**SHOP, "SHOP_ENV": "demo"}, SANDBOX, "5001")
    assert "http://127.0.0.1:5000/" in text and "/CheckOut2/Sandbox/" in text
    assert "shop-admin-secret" in text and "sandbox-secret" in text


def test_production_setup_never_prints_a_password():
    text = demo.describe({**SHOP, "SHOP_ENV": "production"}, SANDBOX, "5001")
    assert "http://127.0.0.1:5000/" in text
    assert "shop-admin-secret" not in text and "sandbox-secret" not in text
