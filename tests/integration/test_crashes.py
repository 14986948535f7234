"""Crashes (issue 10): ``kill -9`` of the shop's gunicorn at random moments while 200
purchases complete and their callbacks arrive, then a restart: every completed purchase
ends paid exactly once, with one stock decrement and one confirmation e-mail. (The
sandbox's and its worker's kills are in ``tests/e2e`` and ``tests/integration/sandbox``.)"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.harness import SITE_CODE, Stack, wait_until

PURCHASES = 200
#: Hundreds of purchases over HTTP on a shared CI machine: more than the default limit.
pytestmark = pytest.mark.timeout(600)
KILLS = 6


@pytest.fixture
def crash_stack(tmp_path) -> Iterator[Stack]:
    stack = Stack.create(
        tmp_path,
        RECONCILE_MIN_AGE=0,
        SWEEP_EVERY_SECONDS=2,
        MAIL_EVERY_SECONDS=1,
        DELIVERY_POLL_SECONDS=0.05,
        SANDBOX_MERCHANTS=[
            {
                "site_code": SITE_CODE,
                "retry_schedule_ms": [0, 50, 100, 200],
                "retry_every_ms": 300,
                "max_attempts": 200,
            }
        ],
    )
    try:
        stack.setup()
        stack.start("shop", "sandbox", "delivery", "sweeper", "mailer")
        yield stack
    finally:
        stack.close()


def plenty_of_stock() -> None:
    from shop.extensions import db
    from shop.models import Product

    db.session.execute(sa.update(Product).values(stock=10_000))
    db.session.commit()


def test_kill_9_of_the_shop_during_200_purchases_loses_and_doubles_nothing(crash_stack):
    stack = crash_stack
    stack.query(plenty_of_stock)
    rng = random.Random(9)
    kill_at = set(rng.sample(range(10, PURCHASES), KILLS))
    purchases = []
    for n in range(PURCHASES):
        session = stack.checkout(("MUG-01", 1))
        stack.complete(session.purchase_id)  # the callback goes to the shop, maybe down
        purchases.append(session.purchase_id)
        if n in kill_at:
            stack.kill("shop")  # kill -9 of gunicorn's master and workers, mid-traffic
            stack.start("shop")

    from shop.extensions import db
    from shop.models import Order, OrderEvent, OutboxEmail, Product

    def facts() -> tuple[Counter[str], Counter[int], int, int, int]:
        states = Counter(db.session.scalars(sa.select(Order.state)).all())
        paid = Counter(
            db.session.scalars(
                sa.select(OrderEvent.order_id).where(OrderEvent.outcome == "paid")
            ).all()
        )
        mails = db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) or 0
        sent = (
            db.session.scalar(
                sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.sent_at.is_not(None))
            )
            or 0
        )
        stock = db.session.scalar(sa.select(Product.stock).where(Product.sku == "MUG-01")) or 0
        return states, paid, mails, sent, stock

    wait_until(
        lambda: stack.query(facts)[0] == {"paid": PURCHASES},
        timeout=180,
        interval=0.5,
        message="every completed purchase paid",
    )
    states, paid, mails, _, stock = stack.query(facts)
    assert len(paid) == PURCHASES and set(paid.values()) == {1}
    assert mails == PURCHASES
    assert stock == 10_000 - PURCHASES
    wait_until(lambda: stack.query(facts)[3] == PURCHASES, timeout=60, message="mail sent")
