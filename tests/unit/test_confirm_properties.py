"""The confirm step against every order of events Hypothesis can think of.

Avarda's state changes and the shop's notifications (callback, browser, with Avarda
reachable or not) arrive in any order, any number of times. A small reference model says
what the order must be after each notification; the real confirm step, on a real SQLite
database, must agree, and must never pay twice, e-mail twice or take stock twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.avarda import PurchaseState
from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import Order, OrderEvent, OutboxEmail, Product
from shop.orders.checkout import begin_checkout
from shop.orders.confirm import confirm_purchase
from tests.unit.fakes import FakeAvarda, make_app, unavailable

DEAD = {PurchaseState.ERROR, PurchaseState.SESSION_TIMED_OUT, PurchaseState.CANCELLED}
FINAL = {"paid", "on_hold"}

avarda_changes = st.tuples(
    st.just("avarda"), st.sampled_from(list(PurchaseState)), st.booleans()
)  # (kind, new state, price matches the order)
notifications = st.tuples(
    st.just("notify"), st.sampled_from(["callback", "browser"]), st.booleans()
)  # (kind, path, Avarda reachable)
stories = st.lists(st.one_of(avarda_changes, notifications), min_size=1, max_size=12)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[tuple[Flask, FakeAvarda]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('props') / 'shop.db'}"
    app, fake = make_app(url)
    with app.app_context():
        yield app, fake
        db.session.remove()
        db.engine.dispose()


class Model:
    """What the order must be: forward-only, decided by Avarda's answer alone."""

    def __init__(self) -> None:
        self.state = "pending"
        self.confirmed_by: str | None = None

    def notify(self, path: str, avarda: PurchaseState, price_ok: bool, reachable: bool) -> None:
        if not reachable or self.state in FINAL:
            return
        if avarda is PurchaseState.COMPLETED:
            if self.state == "pending" and price_ok:
                self.state = "paid"
            else:  # a wrong amount, or money for an order already given up: a human looks
                self.state = "on_hold"
            self.confirmed_by = path
        elif avarda in DEAD and self.state == "pending":
            self.state = "failed"


def facts(order_id: int) -> tuple[Order, list[str], int, int]:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    # Back-to-back browser returns that change nothing count on one event (repeats).
    outcomes = [
        outcome
        for outcome, repeats in db.session.execute(
            sa.select(OrderEvent.outcome, OrderEvent.repeats).where(OrderEvent.order_id == order_id)
        )
        for _ in range(1 + repeats)
    ]
    mails = db.session.scalar(
        sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.order_id == order_id)
    )
    stock = db.session.scalar(sa.select(Product.stock).where(Product.sku == "MUG-01"))
    return order, outcomes, mails, stock


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story=stories)
def test_any_order_of_events_pays_at_most_once_and_never_moves_back(shop, story):
    _, fake = shop
    db.session.execute(sa.update(Product).values(stock=1000))
    db.session.commit()
    session = begin_checkout(
        db.session(), avarda_client(), [(get_product_by_sku(db.session(), "MUG-01").id, 2)], None
    )
    purchase_id = session.purchase_id
    order_id = db.session.scalar(sa.select(Order.id).where(Order.purchase_id == purchase_id))
    total = fake.purchases[purchase_id]["Price"]

    model = Model()
    avarda, price_ok = PurchaseState.NEW, True
    notified = 0
    for step in story:
        if step[0] == "avarda":
            _, avarda, price_ok = step
            if avarda is PurchaseState.COMPLETED:
                fake.complete(purchase_id, price=total if price_ok else total + Decimal("1.00"))
            else:
                fake.set_state(purchase_id, avarda.value)
            continue
        _, path, reachable = step
        fake.status_error = None if reachable else unavailable()
        before = model.state
        model.notify(path, avarda, price_ok, reachable)
        confirm_purchase(
            db.session(),
            avarda_client(),
            purchase_id,
            path,
            shop_url=current_app.config["SHOP_PUBLIC_URL"],
        )
        notified += 1

        order, outcomes, mails, stock = facts(order_id)
        assert order.state == model.state, (before, path, avarda, reachable)
        assert order.confirmed_by == model.confirmed_by
        assert len(outcomes) == notified  # every notification recorded, duplicates too
        assert outcomes.count("paid") == (1 if model.state == "paid" else 0)
        assert mails == (1 if model.state == "paid" else 0)
        assert stock == (998 if model.state == "paid" else 1000)
    fake.status_error = None
