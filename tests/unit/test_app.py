"""The app factory: settings, production refusal, security headers, error format."""

from __future__ import annotations

import pytest

from shop import ConfigError, create_app
from shop.config import build_config
from tests.harness import shop_config


def test_test_config_replaces_file_and_environment(tmp_path, monkeypatch):
    (tmp_path / "settings.env").write_text("AVARDA_SITE_CODE=from-file\nCALLBACK_PASSWORD=file\n")
    monkeypatch.setenv("AVARDA_SITE_CODE", "from-env")
    config = build_config(str(tmp_path), {"SECRET_KEY": "k"})
    assert config["AVARDA_SITE_CODE"] == "" and config["CALLBACK_PASSWORD"] == ""


def test_environment_wins_over_the_instance_file(tmp_path, monkeypatch):
    (tmp_path / "settings.env").write_text(
        "AVARDA_SITE_CODE=from-file\nCALLBACK_PASSWORD=file-pw\nSHOP_PORT=6000\n"
    )
    monkeypatch.setenv("AVARDA_SITE_CODE", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/shop")
    for key in ("SHOP_PUBLIC_URL", "SANDBOX_PORT", "AVARDA_BASE_URL", "SHOP_PORT"):
        monkeypatch.delenv(key, raising=False)
    config = build_config(str(tmp_path), None)
    assert config["AVARDA_SITE_CODE"] == "from-env"
    assert config["CALLBACK_PASSWORD"] == "file-pw"
    assert config["SHOP_PUBLIC_URL"] == "http://127.0.0.1:6000"
    assert config["AVARDA_BASE_URL"] == "http://127.0.0.1:5001/CheckOut2"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/shop"


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "CALLBACK_USERNAME", "CALLBACK_PASSWORD", "AVARDA_SITE_PASSWORD"]
)
def test_production_refuses_to_start_without_secrets(sqlite_url, missing):
    config = shop_config(sqlite_url, SHOP_ENV="production", **{missing: ""})
    with pytest.raises(ConfigError, match=missing.split("_")[0]):
        create_app(config)


def test_production_starts_with_everything(sqlite_url):
    assert create_app(shop_config(sqlite_url, SHOP_ENV="production")).config["SHOP_ENV"] == (
        "production"
    )


@pytest.mark.parametrize(
    "public_url, secure", [("https://shop.example", True), ("http://127.0.0.1:5000", False)]
)
def test_session_cookie_is_secure_behind_https(tmp_path, public_url, secure):
    config = build_config(str(tmp_path), {"SECRET_KEY": "k", "SHOP_PUBLIC_URL": public_url})
    assert config["SESSION_COOKIE_SECURE"] is secure


@pytest.mark.parametrize(
    "key, value",
    [("AVARDA_TIMEOUT", "soon"), ("SHOP_ENV", "staging"), ("SHOP_PUBLIC_URL", "ftp://x")],
)
def test_bad_settings_stop_the_app_naming_the_key(sqlite_url, key, value):
    with pytest.raises(ConfigError, match=key):
        create_app(shop_config(sqlite_url, **{key: value}))


TIMEOUTS = ("AVARDA_TIMEOUT", "AVARDA_STATUS_TIMEOUT", "MAIL_TIMEOUT")


@pytest.mark.parametrize(
    "key, value",
    [
        *((key, value) for key in TIMEOUTS for value in ("0", "-0.0", "-1", "nan", "inf", 0)),
        *(("RECONCILE_MIN_AGE", value) for value in ("-1", "nan", "inf", "-inf", "1e12")),
        ("AVARDA_TIMEOUT", "1e10"),  # overflows a socket timeout
    ],
)
def test_timeouts_and_ages_must_be_finite_and_in_range(sqlite_url, key, value):
    with pytest.raises(ConfigError, match=key):
        create_app(shop_config(sqlite_url, **{key: value}))


def test_a_zero_min_age_is_allowed(sqlite_url):
    app = create_app(shop_config(sqlite_url, RECONCILE_MIN_AGE="0"))
    assert app.config["RECONCILE_MIN_AGE"] == 0.0


def test_csp_nonce_healthz_and_error_formats(sqlite_url):
    app = create_app(shop_config(sqlite_url, AVARDA_BASE_URL="http://127.0.0.1:5999/CheckOut2"))
    client = app.test_client()
    first = client.get("/healthz")
    second = client.get("/healthz")
    assert first.json == {"status": "ok"}
    csp = first.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "http://127.0.0.1:5999" in csp
    assert csp != second.headers["Content-Security-Policy"]  # a fresh nonce per response

    as_json = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert as_json.status_code == 404 and as_json.json["status"] == 404
    as_html = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert as_html.status_code == 404 and as_html.headers["Content-Type"].startswith("text/")
