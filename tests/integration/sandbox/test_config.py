"""Settings: defaults, settings file, environment, and the hermetic test_config."""

from __future__ import annotations

import traceback

import pytest

from sandbox.config import ConfigError, load


def test_environment_wins_over_the_file_and_the_shops_keys_are_ignored(tmp_path, monkeypatch):
    (tmp_path / "settings.env").write_text(
        "SECRET_KEY=shop-key\nSANDBOX_SECRET_KEY=file-key\nSANDBOX_PURCHASE_TIMEOUT=60\n"
    )
    monkeypatch.setenv("SANDBOX_PURCHASE_TIMEOUT", "90")
    monkeypatch.setenv("SECRET_KEY", "shop-env-key")
    monkeypatch.setenv("SANDBOX_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("SHOP_PORT", "5123")
    monkeypatch.delenv("SHOP_PUBLIC_URL", raising=False)
    config = load(str(tmp_path), None)
    assert config["SECRET_KEY"] == "file-key"
    assert config["SANDBOX_PURCHASE_TIMEOUT"] == 90
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///elsewhere.db"
    assert config["SHOP_PUBLIC_URL"] == "http://127.0.0.1:5123"


def test_test_config_replaces_file_and_environment(tmp_path, monkeypatch):
    (tmp_path / "settings.env").write_text("SANDBOX_ADMIN_PASSWORD=from-file\n")
    monkeypatch.setenv("SANDBOX_ADMIN_PASSWORD", "from-env")
    config = load(str(tmp_path), {"SANDBOX_DATABASE_URL": "sqlite:///t.db"})
    assert config["SANDBOX_ADMIN_PASSWORD"] == ""
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///t.db"


@pytest.mark.parametrize(
    "bad",
    [
        {"SANDBOX_PURCHASE_TIMEOUT": "soon"},
        {"SANDBOX_DELIVERY_LEASE_SECONDS": "5", "SANDBOX_DELIVERY_READ_TIMEOUT": "10"},
        {"SANDBOX_MERCHANTS": '[{"no_site_code": 1}]'},
        {"SANDBOX_MERCHANTS": "not json"},
        {"SHOP_PUBLIC_URL": "nohost"},
    ],
)
def test_bad_values_stop_with_a_message_naming_the_setting(tmp_path, bad):
    with pytest.raises(ConfigError, match=next(iter(bad)).split("_DELIVERY")[0]):
        load(str(tmp_path), bad)


SECRET = "pw-Sekr1t-9f3"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (
            "SANDBOX_MERCHANTS",
            '[{"site_code": "m", "site_password": "SECRET",\n'
            ' "callback_authorization": {"scheme": "Bearer", "token": "SECRET"}},]',
        ),
        ("SANDBOX_MERCHANTS", '[{"site_code": "m", "site_password": "SECRET\\q"}]'),
        ("SANDBOX_PURCHASE_TIMEOUT", SECRET),
        ("SANDBOX_DELIVERY_READ_TIMEOUT", SECRET),
        ("SHOP_PUBLIC_URL", f"https://user:{SECRET}@"),
        ("SHOP_PUBLIC_URL", f"http://[{SECRET}"),
    ],
)
def test_errors_name_the_setting_but_never_show_its_value(tmp_path, monkeypatch, name, value):
    value = value.replace("SECRET", SECRET)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load(str(tmp_path), None)
    message = str(info.value)
    assert name in message
    assert SECRET not in message
    assert SECRET not in "".join(traceback.format_exception(info.value))  # no chained cause
    if name == "SANDBOX_MERCHANTS" and "},]" in value:
        assert "line 2" in message  # where to look, for JSON


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_timeouts_must_be_finite_and_positive(tmp_path, value):
    with pytest.raises(ConfigError, match="SANDBOX_DELIVERY_POLL_INTERVAL"):
        load(str(tmp_path), {"SANDBOX_DELIVERY_POLL_INTERVAL": value})


@pytest.mark.parametrize(
    "overrides",
    [
        {"AVARDA_SITE_CODE": "s" * 65, "AVARDA_SITE_PASSWORD": "pw"},
        {"SANDBOX_MERCHANTS": [{"site_code": "s" * 65}]},
        {"SANDBOX_MERCHANTS": [{"site_code": "m", "site_password": 5}]},
    ],
)
def test_configured_merchants_must_fit_their_columns(tmp_path, overrides):
    with pytest.raises(ConfigError, match="site_code|site_password"):
        load(str(tmp_path), overrides)
    load(str(tmp_path), {"SANDBOX_MERCHANTS": [{"site_code": "s" * 64, "site_password": "p"}]})


def test_database_errors_never_show_sql_parameters(tmp_path):
    """A failed write of a merchant row must not log its callback password."""
    import sqlalchemy as sa

    from sandbox import create_app
    from sandbox.db import db

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 's.db'}", "SECRET_KEY": "k"}
    )
    with app.app_context():
        with pytest.raises(sa.exc.StatementError) as caught:
            db.session.execute(sa.text("SELECT * FROM no_such_table WHERE x = :x"), {"x": "pw-42"})
        assert "pw-42" not in str(caught.value)
