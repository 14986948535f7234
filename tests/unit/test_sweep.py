"""The sweep: candidates by age and by GetPaymentStatusQueue; quiet when nothing changed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import current_app

from shop.avarda import PurchaseState
from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import Order, OrderEvent, utcnow
from shop.orders import sweep as sweep_module
from shop.orders.checkout import begin_checkout
from shop.orders.sweep import SweepReport, sweep
from tests.unit.fakes import unavailable


def run_sweep(**options: Any) -> SweepReport:
    """One sweep as the CLI runs it: the app's session and (fake) Avarda client."""
    return sweep(
        db.session(), avarda_client(), shop_url=current_app.config["SHOP_PUBLIC_URL"], **options
    )


def new_order() -> str:
    return begin_checkout(
        db.session(), avarda_client(), [(get_product_by_sku(db.session(), "MUG-01").id, 1)], None
    ).purchase_id


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

    report = run_sweep(min_age=60, now=utcnow() + timedelta(seconds=61))

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

    report = run_sweep(min_age=3600)

    # the live paths (callback, browser) get their chance first
    assert state(young_paid) == ("pending", None)
    assert state(young_open) == ("pending", None)
    assert report.checked == 0


def test_listed_purchases_are_checked_first(shop):
    _, fake = shop
    first_open, later_paid = new_order(), new_order()
    fake.complete(later_paid)

    report = run_sweep(min_age=60, now=utcnow() + timedelta(seconds=61))

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
    report = run_sweep(min_age=0)
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


@pytest.mark.parametrize(
    "args, option",
    [
        (["--every", "-1"], "--every"),
        (["--every", "nan"], "--every"),
        (["--every", "inf"], "--every"),
        (["--min-age", "nan"], "--min-age"),
        (["--min-age", "inf"], "--min-age"),
        (["--min-age", "-inf"], "--min-age"),
    ],
)
def test_reconcile_rejects_bad_options_and_changes_nothing(shop, args, option):
    app, fake = shop
    purchase_id = new_order()
    fake.complete(purchase_id)
    result = app.test_cli_runner().invoke(args=["reconcile", "--min-age", "0", *args])
    assert result.exit_code == 2 and option in result.output
    assert "finite" in result.output or "range" in result.output
    assert state(purchase_id) == ("pending", None)


def test_listed_orders_beyond_the_oldest_batch_are_still_reached(shop, monkeypatch):
    """A full batch of old orders that never finish must not hide a newer paid one."""
    _, fake = shop
    monkeypatch.setattr(sweep_module, "BATCH_LIMIT", 2)
    stuck = [new_order() for _ in range(3)]  # Avarda keeps these in the form forever
    for purchase_id in stuck:
        fake.set_state(purchase_id, PurchaseState.BEING_PROCESSED.value)
    late_paid, young_paid = new_order(), new_order()
    fake.complete(late_paid)
    fake.complete(young_paid)
    now = utcnow()
    ages = {**{p: 3600 - i for i, p in enumerate(stuck)}, late_paid: 120, young_paid: 10}
    for purchase_id, age in ages.items():
        db.session.execute(
            sa.update(Order)
            .where(Order.purchase_id == purchase_id)
            .values(created_at=now - timedelta(seconds=age))
        )
    db.session.commit()

    report = run_sweep(min_age=60, now=now)

    assert state(late_paid) == ("paid", "sweep")
    assert state(young_paid) == ("pending", None)  # the live paths still get their chance
    checked = [arg for name, arg in fake.calls if name == "GetPaymentStatus"]
    assert checked == [late_paid, *stuck[:2]]
    assert report.hinted == 1 and report.checked == 3


def test_two_sweepers_at_once_split_the_work_and_ask_once_per_order(shop, monkeypatch):
    """Two hosts' sweeps overlap: each order is claimed by one of them, so Avarda is asked
    about it once in the pass, and both do part of the work."""
    app, fake = shop
    ids = [new_order() for _ in range(12)]
    for purchase_id in ids:
        fake.complete(purchase_id)
    db.session.remove()
    monkeypatch.setattr(sweep_module, "CLAIM_CHUNK", 2)
    asked: list[str] = []
    real = fake.get_payment_status
    gate = threading.Lock()

    def slow_status(purchase_id: str, timeout: float | None = None):
        with gate:
            asked.append(purchase_id)
        time.sleep(0.02)  # the passes overlap
        return real(purchase_id, timeout)

    monkeypatch.setattr(fake, "get_payment_status", slow_status)
    later = utcnow() + timedelta(seconds=61)
    start = threading.Barrier(2)
    reports: list[SweepReport] = []

    def one_host() -> None:
        with app.app_context():
            start.wait(5)
            reports.append(run_sweep(min_age=60, now=later))
            db.session.remove()

    hosts = [threading.Thread(target=one_host) for _ in range(2)]
    for host in hosts:
        host.start()
    for host in hosts:
        host.join(60)

    assert sorted(asked) == sorted(ids)  # each order asked about once, by one sweeper
    assert sorted(r.checked for r in reports) != [0, 12]  # both did part of the work
    assert sum(r.checked for r in reports) == 12
    assert all(state(pid) == ("paid", "sweep") for pid in ids)


def test_a_claimed_order_waits_for_its_lease(shop):
    _, fake = shop
    purchase_id = new_order()
    fake.complete(purchase_id)
    later = utcnow() + timedelta(seconds=61)
    assert sweep_module.claim(db.session(), [purchase_id]) == [purchase_id]  # another host
    assert run_sweep(min_age=60, now=later).checked == 0
    assert state(purchase_id) == ("pending", None)
