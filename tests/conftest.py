"""Fixtures shared by every suite. Suite-specific fixtures live in each folder's conftest."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CHROMIUM_MISSING,
    chromium_available,
    serve_wsgi,
    skip_or_fail,
)


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """``live_server(app) -> base URL``: serve an app on a real socket for this test."""
    stack = []

    def start(app, host: str = "127.0.0.1") -> str:
        cm = serve_wsgi(app, host)
        url = cm.__enter__()
        stack.append(cm)
        return url

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (Debian's, not a Playwright download)."""
    if not chromium_available():
        skip_or_fail(CHROMIUM_MISSING)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (cookies, storage) and page per test."""
    context = browser.new_context()
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()
