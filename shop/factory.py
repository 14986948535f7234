"""The shop's app factory: builds the Flask app around the framework-free core.

``create_app`` builds the app (``flask --app wsgi:app setup``, in ``shop.cli``,
prepares its database). Nothing reads configuration at
import time, so importing ``shop`` has no side effects.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, g, request
from flask.typing import ResponseReturnValue
from werkzeug.middleware.proxy_fix import ProxyFix

from common.db import configure_sqlite, private_sqlite_file
from common.settings import instance_path_from_env
from shop.config import ConfigError, build_config
from shop.extensions import MIGRATIONS_DIR, csrf, db, login_manager, migrate

__all__ = ["ConfigError", "MIGRATIONS_DIR", "create_app"]

ROOT = Path(__file__).resolve().parent.parent

log = logging.getLogger(__name__)

#: Bodies larger than this are refused with 413 before any view runs (the callback's own
#: limit is much smaller).
MAX_CONTENT_LENGTH = 1024 * 1024


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the shop. ``test_config`` replaces the instance file and the environment.

    Raises :class:`ConfigError` for unusable settings (for example production mode
    without callback credentials), so a misconfigured shop never starts serving.
    """
    app = Flask(
        __name__,
        instance_path=instance_path_from_env(),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(build_config(app.instance_path, test_config))
    _trust_proxies(app)
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default: no limit
        app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    _install_body_limit(app)  # before CSRF: its check would read an oversized form

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    _install_login_loader()

    from shop.views import BLUEPRINTS
    from shop.views.callback import bp as callback_bp
    from shop.views.errors import register_error_handlers

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    # Avarda cannot send a CSRF token; the callback authenticates with HTTP auth instead.
    csrf.exempt(callback_bp)
    if "admin.login" in app.view_functions:
        login_manager.login_view = "admin.login"
    register_error_handlers(app)
    _install_security_headers(app)

    from shop.cli import register_cli

    register_cli(app)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return {"status": "ok"}

    return app


def _install_login_loader() -> None:
    from shop.models import AdminUser
    from shop.orders.admins import load_admin

    def load_user(user_id: str) -> AdminUser | None:
        return load_admin(db.session(), user_id)

    login_manager.user_loader(load_user)


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, the client's address and scheme come
    from their ``X-Forwarded-For``/``-Proto`` (Werkzeug's ProxyFix), so that the sign-in
    throttle and the notification log see the client rather than the proxy: otherwise
    five wrong passwords from anyone would lock every admin out."""
    count = int(app.config["TRUSTED_PROXIES"])
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def _install_body_limit(app: Flask) -> None:
    """413 for a declared body over ``MAX_CONTENT_LENGTH``, whether or not the view would
    read it (Flask applies the limit only when the body is read; a chunked body is cut
    off there)."""

    @app.before_request
    def limit_body() -> None:
        limit = app.config["MAX_CONTENT_LENGTH"]
        if (request.content_length or 0) > limit:
            abort(413)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _install_security_headers(app: Flask) -> None:
    """A Content-Security-Policy with a per-request nonce.

    Templates get ``csp_nonce`` for the one inline script the project allows (the
    Avarda ``init`` call). Avarda's origin may serve scripts and frames; everything
    else must come from the shop itself. Inline styles stay allowed because
    Avarda's client script sizes its iframe with them.
    """
    avarda = _origin(app.config["AVARDA_BASE_URL"])

    def nonce() -> str:
        if "csp_nonce" not in g:
            g.csp_nonce = secrets.token_urlsafe(18)
        value: str = g.csp_nonce
        return value

    @app.context_processor
    def inject_nonce() -> dict[str, Any]:
        return {"csp_nonce": nonce()}

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        policy = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce()}' {avarda}; "
            f"frame-src 'self' {avarda}; connect-src 'self' {avarda}; "
            f"img-src 'self' data: {avarda}; style-src 'self' 'unsafe-inline' {avarda}; "
            f"form-action 'self' {avarda}; base-uri 'self'; object-src 'none'; "
            "frame-ancestors 'self'"
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/orders/"):
            # The order token is in the URL: keep such pages out of shared caches.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
