"""The app's Avarda client, built from the configuration on first use.

Tests replace it with ``set_avarda_client(app, fake)``; nothing else should build one.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from shop.avarda import AvardaClient, Language

_KEY = "shop.avarda_client"


def avarda_client() -> AvardaClient:
    client = current_app.extensions.get(_KEY)
    if client is None:
        config = current_app.config
        client = AvardaClient(
            config["AVARDA_BASE_URL"],
            config["AVARDA_SITE_CODE"],
            config["AVARDA_SITE_PASSWORD"],
            timeout=config["AVARDA_TIMEOUT"],
            status_timeout=config["AVARDA_STATUS_TIMEOUT"],
        )
        current_app.extensions[_KEY] = client
    return client


def avarda_language() -> Language:
    """``UserLanguageCode`` for new purchases (``AVARDA_LANGUAGE``, checked at start-up)."""
    language: Language = current_app.config["AVARDA_LANGUAGE"]
    return language


def set_avarda_client(app: Flask, client: Any) -> None:
    """Use ``client`` (anything with AvardaClient's methods) for this app."""
    app.extensions[_KEY] = client
