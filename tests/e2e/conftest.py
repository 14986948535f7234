"""The end-to-end stack: the demo's real processes (gunicorn, workers) on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.shopper import Shopper
from tests.e2e.stack import Stack
from tests.support import CHROMIUM_MISSING, chromium_available, skip_or_fail

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
def stack(tmp_path_factory) -> Iterator[Stack]:
    if not chromium_available():
        skip_or_fail(CHROMIUM_MISSING)
    s = Stack.create(tmp_path_factory.mktemp("stack"))
    try:
        s.start_all()
        yield s
    except BaseException:
        print(s.logs())
        raise
    finally:
        s.stop_all()


@pytest.fixture
def merchant(stack: Stack) -> Iterator[Stack]:
    """The demo merchant with fast retries and no faults; faults set by a test are undone."""
    stack.merchant(**FAST_MERCHANT)
    yield stack
    for name in ("shop", "sandbox", "delivery", "sweeper"):
        if name not in stack.procs:
            stack.start(name)
    stack.merchant(**FAST_MERCHANT)


@pytest.fixture
def shopper(page, stack: Stack) -> Shopper:
    return Shopper(page, stack.shop_url)


class ShopDatabase:
    """Read-only facts from the shop's database file, for assertions a page cannot show."""

    def __init__(self, url: str):
        import sqlalchemy as sa

        self.sa = sa
        self.engine = sa.create_engine(url)

    def order_facts(self, token: str) -> dict:
        sa = self.sa
        with self.engine.connect() as conn:
            order_id, number = conn.execute(
                sa.text('SELECT id, number FROM "order" WHERE token = :t'), {"t": token}
            ).one()
            outcomes = (
                conn.execute(
                    sa.text("SELECT outcome FROM order_event WHERE order_id = :o"), {"o": order_id}
                )
                .scalars()
                .all()
            )
            emails = conn.execute(
                sa.text("SELECT count(*) FROM outbox_email WHERE order_id = :o"), {"o": order_id}
            ).scalar_one()
            quantities = dict(
                conn.execute(
                    sa.text("SELECT sku, quantity FROM order_line WHERE order_id = :o"),
                    {"o": order_id},
                ).all()
            )
        return {
            "number": number,
            "paid_transitions": outcomes.count("paid"),
            "notifications": len(outcomes),
            "emails": emails,
            "quantities": quantities,
        }

    def stock_of_order_products(self, token: str) -> dict[str, int]:
        sa = self.sa
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT p.sku, p.stock FROM product p JOIN order_line l ON l.product_id = p.id"
                    ' JOIN "order" o ON o.id = l.order_id WHERE o.token = :t'
                ),
                {"t": token},
            ).all()
        return dict(rows)


@pytest.fixture(scope="session")
def shop_db(stack: Stack) -> Iterator[ShopDatabase]:
    db = ShopDatabase(stack.env["DATABASE_URL"])
    yield db
    db.engine.dispose()
