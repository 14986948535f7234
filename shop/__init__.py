"""The shop: a Flask storefront integrating Avarda Checkout 2.0.

The app factory is :func:`shop.factory.create_app` (also importable from here, lazily).
Importing ``shop`` or its core (``shop.orders``, ``shop.avarda``, ``shop.catalog``,
``shop.mail``, ``shop.models``, ``shop.transactions``) imports no Flask: a shop written
in another framework can use the core as it is, or copy it under another package name
(its imports of itself are relative; ``docs/integration-guide.md``, "What to copy").
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ConfigError": "shop.factory",
    "MIGRATIONS_DIR": "shop.factory",
    "create_app": "shop.factory",
    "setup_database": "shop.cli",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'shop' has no attribute {name!r}")
