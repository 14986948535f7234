"""The end-to-end stack: every process of the Procfile (gunicorn, workers) on free ports,
for the whole session, with a real Chromium as the customer.

- ``stack``: the session's :class:`~tests.harness.Stack`, every Procfile entry running;
- ``merchant``: the same stack, with the demo merchant's fast retries and no faults; a test
  may stop, kill or reconfigure anything, and it is put back afterwards;
- ``shopper``: a :class:`~tests.e2e.shopper.Shopper` in a fresh browser context.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.shopper import Shopper
from tests.harness import CHROMIUM_MISSING, Stack, StackPool, chromium_available, skip_or_fail

#: The sweeper every second for orders older than six seconds; workers polling quickly.
SETTINGS = {"DELIVERY_POLL_SECONDS": 0.1, "SWEEP_EVERY_SECONDS": 1, "RECONCILE_MIN_AGE": 6}

# Retries in fractions of a second, so that "the shop was down" takes moments, not minutes.
FAST_MERCHANT = {
    "callback_enabled": True,
    "retry_schedule_ms": [0, 300, 600, 1000],
    "retry_every_ms": 1000,
    "max_attempts": 20,
    "first_attempt_delay_ms": 0,
    "callback_copies": 1,
    "fail_first_attempts": 0,
    "done_delay_seconds": 0,
    "never_call_done": False,
    "purchase_timeout_seconds": 1800,
}


@pytest.fixture(scope="session")
def stack(stacks: StackPool) -> Stack:
    if not chromium_available():
        skip_or_fail(CHROMIUM_MISSING)
    return stacks.get("sqlite", **SETTINGS).start_all()


@pytest.fixture
def merchant(stack: Stack) -> Iterator[Stack]:
    """The demo merchant with fast retries and no faults; faults set by a test are undone."""
    stack.merchant(**FAST_MERCHANT)
    yield stack
    stack.start_all()
    stack.merchant(**FAST_MERCHANT)


@pytest.fixture
def shopper(page, stack: Stack) -> Shopper:
    return Shopper(page, stack.shop_url)
