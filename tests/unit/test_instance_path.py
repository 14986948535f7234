"""INSTANCE_PATH: where both apps keep settings.env and their files, so that the tests'
processes never read a developer's instance/settings.env."""

from __future__ import annotations

from pathlib import Path

import pytest

import sandbox
import shop
from tests.harness.settings import Settings
from tests.harness.stack import Stack

SETTING_KEYS = (
    "SHOP_ENV",
    "DATABASE_URL",
    "SANDBOX_DATABASE_URL",
    "AVARDA_LANGUAGE",
    "SANDBOX_PURCHASE_TIMEOUT",
)


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in SETTING_KEYS:
        monkeypatch.delenv(key, raising=False)
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "settings.env").write_text(
        f"DATABASE_URL=sqlite:///{folder / 'shop.db'}\n"
        f"SANDBOX_DATABASE_URL=sqlite:///{folder / 'sandbox.db'}\n"
        "AVARDA_LANGUAGE=fi-FI\n"
        "SANDBOX_PURCHASE_TIMEOUT=77\n"
    )
    monkeypatch.setenv("INSTANCE_PATH", str(folder))
    return folder


def test_the_shop_reads_its_settings_from_the_named_folder(instance: Path) -> None:
    app = shop.create_app()
    assert Path(app.instance_path) == instance
    assert app.config["AVARDA_LANGUAGE"] == "fi-FI"


def test_the_sandbox_reads_its_settings_from_the_named_folder(instance: Path) -> None:
    app = sandbox.create_app()
    assert Path(app.instance_path) == instance
    assert app.config["SANDBOX_PURCHASE_TIMEOUT"] == 77


def test_a_relative_folder_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INSTANCE_PATH", "mine")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'shop.db'}")
    assert Path(shop.create_app().instance_path) == tmp_path / "mine"


def test_without_it_the_folder_is_instance_beside_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSTANCE_PATH", raising=False)
    app = shop.create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    assert Path(app.instance_path) == Path(shop.__file__).resolve().parent.parent / "instance"


def test_the_tests_processes_get_a_folder_of_their_stacks_own(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'shop.db'}",
        sandbox_database_url=f"sqlite:///{tmp_path / 'sandbox.db'}",
        shop_port=5000,
        sandbox_port=5001,
    )
    stack = Stack(tmp_path, settings)
    assert stack.env["INSTANCE_PATH"] == str(tmp_path / "instance")
