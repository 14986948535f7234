"""Fixtures shared by every suite; each folder's conftest adds its own.

Helpers live in :mod:`tests.harness`; test modules import from there, never from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CHROMIUM_MISSING,
    Stack,
    StackPool,
    chromium_available,
    serve_wsgi,
    skip_or_fail,
)
from tests.harness.postgres import stop_server
from tests.harness.shop_apps import drop_templates


@pytest.fixture(scope="session")
def stacks(tmp_path_factory) -> Iterator[StackPool]:
    """The session's running stacks (:class:`~tests.harness.StackPool`), stopped at its end."""
    pool = StackPool(tmp_path_factory.mktemp("stacks"))
    yield pool
    pool.close()


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """``live_server(app) -> base URL``: serve an app a test builds (a callback receiver,
    a sandbox with its own config) on a real socket, in a thread, for this test."""
    with ExitStack() as servers:

        def start(app: Any, host: str = "127.0.0.1") -> str:
            return servers.enter_context(serve_wsgi(app, host))

        yield start


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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A failing test that used a stack gets the processes' logs in its report."""
    report = yield
    if report.failed:
        funcargs = getattr(item, "funcargs", {})
        stacks = {id(v): v for v in funcargs.values() if isinstance(v, Stack)}
        for stack in stacks.values():
            report.sections.append((f"stack logs ({call.when})", stack.logs()))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    drop_templates()
    stop_server()  # the throwaway PostgreSQL, if one was started
