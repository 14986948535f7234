"""The Avarda sandbox: a local Avarda Checkout 2.0 that a shop cannot tell from the real one.

It speaks the server API under ``/CheckOut2/CheckOut2Api``, serves ``CheckOutClient.js``
and the checkout form, fires the server-side callback from its own worker
(:mod:`sandbox.delivery`), and has a dashboard at ``/CheckOut2/Sandbox/``.
It never imports the shop: the two meet over HTTP only.

Every rule of Avarda's contract it follows, each sandbox choice it makes where Avarda is
silent, and the test proving each: ``docs/sandbox-fidelity.md``. The request models are in
:mod:`sandbox.wire`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf import CSRFProtect

from common.db import private_sqlite_file
from common.settings import instance_path_from_env
from sandbox import config as config_module
from sandbox.db import configure_sqlite, db
from sandbox.jsonutil import DecimalJSONProvider

csrf = CSRFProtect()
log = logging.getLogger(__name__)
MAX_CONTENT_LENGTH = 1024 * 1024


class CaseInsensitivePaths:
    """WSGI middleware: Avarda's paths are case-insensitive, Flask's routes are not.

    Paths that match a known API path ignoring case are rewritten to its canonical
    casing before routing. Other paths (site codes are case-sensitive) pass untouched.
    """

    def __init__(self, wsgi_app: Any, canonical: list[str]):
        self.wsgi_app = wsgi_app
        self.canonical = {path.lower(): path for path in canonical}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        environ["PATH_INFO"] = self.canonical.get(path.lower(), path)
        return self.wsgi_app(environ, start_response)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the sandbox app. ``test_config`` replaces the settings file and environment."""
    app = Flask(
        __name__,
        instance_path=instance_path_from_env(),
        instance_relative_config=True,
        static_url_path="/CheckOut2/Sandbox/static",
    )
    app.json = DecimalJSONProvider(app)
    app.config.update(config_module.load(app.instance_path, test_config))
    #: Bodies larger than this are refused with 413 before they are read.
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default: no limit
        app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config.get("SANDBOX_EPHEMERAL_SECRET_KEY") and not app.testing:
        log.warning("SANDBOX_SECRET_KEY is not set: sessions last for this process only")

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SANDBOX_SQLITE_BUSY_TIMEOUT_MS"])
    from sandbox.cli import register_commands
    from sandbox.views import admin_api, api, checkout, dashboard, display, errors, security

    security.register(app)  # first: its size check runs before the CSRF check reads a form
    csrf.init_app(app)

    for blueprint in (api.bp, api.commerce_bp, admin_api.bp):
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    csrf.exempt(checkout.complete)
    csrf.exempt(checkout.resume)
    app.register_blueprint(checkout.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(display.bp)
    errors.register(app)
    register_commands(app)
    app.wsgi_app = CaseInsensitivePaths(app.wsgi_app, api.CANONICAL_PATHS)  # type: ignore[method-assign]

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def init_db() -> None:
    """Create the tables and store configured merchants (in an app context).

    Idempotent: existing merchants keep the settings changed at run time.
    """
    from sandbox.merchants import init_db as _init_db

    _init_db()
