"""The Avarda sandbox: a local Avarda Checkout 2.0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def init_db() -> None:
    pass


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(SANDBOX_ADMIN_USERNAME="", SANDBOX_ADMIN_PASSWORD="")
    if test_config:
        app.config.update(test_config)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
