"""Entry point that builds the shop and the Avarda sandbox.

This is the only module that knows both apps. They never import each other and
meet only over HTTP, exactly as the shop would meet Avarda's stage environment.

``wsgi:app`` is the shop and ``wsgi:sandbox`` the sandbox, for gunicorn and for
``flask --app``. Both are built lazily, on first attribute access, so that
``flask --app wsgi:sandbox deliver`` does not build the shop as well.

It does nothing else: preparing a fresh checkout is done by Flask CLI commands, as
``make run`` does: ``flask --app wsgi:app init-settings`` (``instance/settings.env``
with demo secrets), ``flask --app wsgi:app setup`` (the shop's migrations, catalogue
and admin) and ``flask --app wsgi:sandbox init-db`` (the sandbox's database).
"""

from __future__ import annotations

import functools

from flask import Flask


@functools.cache
def _shop() -> Flask:
    from shop.factory import create_app

    return create_app()


@functools.cache
def _sandbox() -> Flask:
    from sandbox import create_app

    return create_app()


def __getattr__(name: str) -> Flask:
    if name == "app":
        return _shop()
    if name == "sandbox":
        return _sandbox()
    raise AttributeError(name)
