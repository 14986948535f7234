"""Flask glue: the extensions, created unbound here and bound to the app in
``create_app``, and the app's Avarda client.

The services under ``shop.orders`` know none of this: they take a SQLAlchemy
``Session`` and an Avarda client as arguments. Views and CLI commands get both here
(``db.session()`` and :func:`avarda_client`) and pass them on.

``db`` is built on the metadata of ``shop.models.Base``, a plain SQLAlchemy base, so the
same models work with or without Flask-SQLAlchemy. Its sessions keep objects' values
after a commit (``expire_on_commit=False``): a view can show what a service just wrote
without starting another transaction (which on SQLite could wait for the write lock).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from shop.avarda import AvardaClient
from shop.models import Base

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

_CLIENT_KEY = "shop.avarda_client"


def avarda_client() -> AvardaClient:
    """The current app's Avarda client, built from its settings on first use.

    Tests replace it with :func:`set_avarda_client`; nothing else should build one.
    """
    client: AvardaClient | None = current_app.extensions.get(_CLIENT_KEY)
    if client is None:
        config = current_app.config
        client = AvardaClient(
            config["AVARDA_BASE_URL"],
            config["AVARDA_SITE_CODE"],
            config["AVARDA_SITE_PASSWORD"],
            timeout=config["AVARDA_TIMEOUT"],
            status_timeout=config["AVARDA_STATUS_TIMEOUT"],
            max_concurrent_calls=config["AVARDA_MAX_CONCURRENT_CALLS"],
        )
        current_app.extensions[_CLIENT_KEY] = client
    return client


def callback_avarda_client() -> AvardaClient:
    """The Avarda client for the server-side callback: the app's, hurried (a short status
    timeout, no waiting for a free slot), so that a hanging Avarda makes the callback
    answer 503 at once (Avarda retries) instead of holding a thread."""
    client: Any = avarda_client()  # a test's fake may stand in for the client
    if isinstance(client, AvardaClient):
        return client.hurried(current_app.config["AVARDA_CALLBACK_STATUS_TIMEOUT"])
    fake: AvardaClient = client
    return fake


def set_avarda_client(app: Flask, client: Any) -> None:
    """Use ``client`` (anything with AvardaClient's methods) for this app."""
    app.extensions[_CLIENT_KEY] = client
