"""The sweep: candidates by age and by GetPaymentStatusQueue; quiet when nothing changed."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from shop.avarda import PurchaseState
from shop.extensions import db
from shop.models import Order, OrderEvent, utcnow
from shop.orders.catalog import get_product_by_sku
from shop.orders.checkout import begin_checkout
from shop.orders.sweep import sweep
from tests.unit.fakes import unavailable


def new_order() -> str:
    return begin_checkout([(get_product_by_sku("MUG-01").id, 1)], None).purchase_id


def state(purchase_id: str) -> tuple[str, str | None]:
    db.session.expire_all()
    order = db.session.scalars(sa.select(Order).where(Order.purchase_id == purchase_id)).one()
    return order.state, order.confirmed_by


def test_sweep_confirms_old_orders_and_fails_timed_out_ones(shop):
    _, fake = shop
    paid, abandoned, waiting = new_order(), new_order(), new_order()
    fake.complete(paid)
    fake.set_state(abandoned, PurchaseState.SESSION_TIMED_OUT.value)
    fake.set_state(waiting, PurchaseState.WAITING_FOR_CARD_PAYMENTS.value)

    report = sweep(min_age=60, now=utcnow() + timedelta(seconds=61))

    assert state(paid) == ("paid", "sweep")
    assert state(abandoned) == ("failed", None)
    assert state(waiting) == ("pending", None)
    assert report.checked == 3 and report.hinted == 1
    # a sweep that finds nothing new leaves no event behind
    outcomes = db.session.scalars(sa.select(OrderEvent.outcome).order_by(OrderEvent.id)).all()
    assert sorted(outcomes) == ["failed", "paid"]


def test_young_orders_wait_even_when_avarda_lists_them_completed(shop):
    _, fake = shop
    young_paid, young_open = new_order(), new_order()
    fake.complete(young_paid)

    report = sweep(min_age=3600)

    # the live paths (callback, browser) get their chance first
    assert state(young_paid) == ("pending", None)
    assert state(young_open) == ("pending", None)
    assert report.checked == 0


def test_listed_purchases_are_checked_first(shop):
    _, fake = shop
    first_open, later_paid = new_order(), new_order()
    fake.complete(later_paid)

    report = sweep(min_age=60, now=utcnow() + timedelta(seconds=61))

    assert report.hinted == 1 and report.checked == 2
    checked = [arg for name, arg in fake.calls if name == "GetPaymentStatus"]
    assert checked == [later_paid, first_open]
    assert state(later_paid) == ("paid", "sweep")
    assert state(first_open) == ("pending", None)


def test_queue_unavailable_falls_back_to_age(shop):
    _, fake = shop
    purchase_id = new_order()
    fake.complete(purchase_id)
    fake.status_error = unavailable()
    report = sweep(min_age=0)
    assert state(purchase_id) == ("pending", None)
    assert report.outcomes == {"avarda_unavailable": 1}


def test_reconcile_command_runs_one_pass(shop):
    app, fake = shop
    purchase_id = new_order()
    fake.complete(purchase_id)
    result = app.test_cli_runner().invoke(args=["reconcile", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert "confirmed_now 1" in result.output
    assert state(purchase_id) == ("paid", "sweep")


def test_reconcile_rejects_bad_options(shop):
    app, _ = shop
    result = app.test_cli_runner().invoke(args=["reconcile", "--every", "-1"])
    assert result.exit_code == 2 and "--every" in result.output
