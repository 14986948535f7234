"""The setup commands `make run` calls: init-settings, then setup (Flask's CLI runner)."""

from __future__ import annotations

import stat

import sqlalchemy as sa
from dotenv import dotenv_values

from shop import create_app
from shop.extensions import db
from shop.models import AdminUser, Product
from tests.harness.settings import shop_config


def test_init_settings_writes_the_file_once_then_setup_prepares_the_database(tmp_path, sqlite_url):
    app = create_app(shop_config(sqlite_url, ADMIN_EMAIL="boss@example.com"))
    app.instance_path = str(tmp_path)  # never the checkout's own instance/
    runner = app.test_cli_runner()

    first = runner.invoke(args=["init-settings"])
    settings = tmp_path / "settings.env"
    assert first.exit_code == 0 and "generated now" in first.output
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    assert dotenv_values(settings)["CALLBACK_PASSWORD"]
    before = settings.read_text()
    again = runner.invoke(args=["init-settings"])
    assert "kept" in again.output and settings.read_text() == before

    setup = runner.invoke(args=["setup"])
    assert setup.exit_code == 0, setup.output
    assert "/CheckOut2/Sandbox/" in setup.output and "boss@example.com" in setup.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Product.id))) == 6
        assert db.session.scalar(sa.select(AdminUser.email)) == "boss@example.com"
        db.engine.dispose()
    assert runner.invoke(args=["setup"]).exit_code == 0  # idempotent
