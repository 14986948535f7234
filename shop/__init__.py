"""The shop: a Flask storefront integrating Avarda Checkout 2.0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(
        SHOP_PUBLIC_URL="http://127.0.0.1:5000",
        ADMIN_EMAIL="",
        ADMIN_PASSWORD="",
        AVARDA_BASE_URL="http://127.0.0.1:5001/CheckOut2",
    )
    if test_config:
        app.config.update(test_config)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
