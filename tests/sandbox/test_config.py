"""Settings: defaults, settings file, environment, and the hermetic test_config."""

from __future__ import annotations

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
