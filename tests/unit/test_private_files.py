"""Every file under ``instance/`` is readable by its owner only (issue 10): the shop's and
the sandbox's SQLite databases with their ``-wal`` and ``-shm`` files, the settings file
and the e-mails the file transport writes. An earlier version left ``instance/shop.db``
and ``instance/sandbox.db`` (with the callback password in plain text) at 0644."""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage

from shop import create_app
from shop.extensions import db
from shop.mail.transport import FileTransport
from tests.harness import close_app, make_shop_app, shop_config


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_shop_database_and_its_wal_files_are_private(tmp_path):
    path = tmp_path / "instance" / "shop.db"
    app = make_shop_app(f"sqlite:///{path}")  # migrates and seeds: the WAL is in use
    try:
        with app.app_context():
            db.session.execute(db.text("SELECT 1"))
            for suffix in ("", "-wal", "-shm"):
                assert mode(f"{path}{suffix}") == 0o600, suffix
        assert mode(path.parent) == 0o700
    finally:
        close_app(app)


def test_an_existing_readable_database_is_made_private(tmp_path):
    path = tmp_path / "shop.db"
    for suffix in ("", "-wal"):
        target = tmp_path / f"shop.db{suffix}"
        target.touch()
        target.chmod(0o644)
    app = create_app(shop_config(f"sqlite:///{path}"))
    close_app(app)
    assert mode(path) == 0o600 and mode(f"{path}-wal") == 0o600


def test_mail_files_are_private(tmp_path):
    message = EmailMessage()
    message["To"] = "anna@example.com"
    message.set_content("Thanks")
    written = FileTransport(tmp_path / "mail").write(message)
    assert mode(written) == 0o600 and mode(written.parent) == 0o700
