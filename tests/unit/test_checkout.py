"""begin_checkout: new orders, reuse, cart changes, refusals; against a fake Avarda."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from shop.avarda import PurchaseState
from shop.catalog import get_product_by_sku, vat_included
from shop.extensions import avarda_client, db
from shop.models import Order, new_order_number
from shop.orders import checkout as checkout_module
from shop.orders.checkout import CheckoutSession, begin_checkout
from shop.orders.errors import CheckoutUnavailable, EmptyCart, InvalidCart, OutOfStock
from tests.unit.fakes import unavailable


def pid(sku: str) -> int:
    return get_product_by_sku(db.session(), sku).id


def orders() -> list[Order]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Order).order_by(Order.id)))


def start(lines: list[tuple[int, int]], token: str | None) -> CheckoutSession:
    """``begin_checkout`` as the checkout page runs it (the app's session and client)."""
    return begin_checkout(db.session(), avarda_client(), lines, token)


def test_new_order_with_lines_totals_and_a_purchase(shop):
    _, fake = shop
    session = start([(pid("MUG-01"), 2), (pid("BOOK-01"), 1)], None)

    [order] = orders()
    assert session.purchase_id == order.purchase_id
    assert session.order_token == order.token and len(order.token) >= 32
    assert order.state == "pending"
    assert order.total_minor == 2 * 14900 + 32900 == session.total_minor
    assert order.vat_minor == vat_included(29800, 25) + vat_included(32900, 6)
    assert [(li.sku, li.quantity) for li in order.lines] == [("MUG-01", 2), ("BOOK-01", 1)]
    assert fake.purchases[order.purchase_id]["OrderReference"] == order.number


def test_same_cart_reuses_order_and_purchase(shop):
    _, fake = shop
    first = start([(pid("MUG-01"), 1)], None)
    again = start([(pid("MUG-01"), 1)], first.order_token)
    assert again.purchase_id == first.purchase_id and again.reused
    assert fake.count("InitializePayment") == 1 and len(orders()) == 1


def test_changed_cart_updates_the_purchase(shop):
    _, fake = shop
    first = start([(pid("MUG-01"), 1)], None)
    changed = start([(pid("MUG-01"), 3)], first.order_token)
    assert changed.purchase_id == first.purchase_id
    [order] = orders()
    assert order.total_minor == 3 * 14900 and [li.quantity for li in order.lines] == [3]
    assert fake.count("UpdateItems") == 1


def test_refused_update_starts_a_new_order_and_keeps_the_old_one_pending(shop):
    _, fake = shop
    first = start([(pid("MUG-01"), 1)], None)
    fake.set_state(first.purchase_id, PurchaseState.WAITING_FOR_CARD_PAYMENTS.value)
    second = start([(pid("MUG-01"), 2)], first.order_token)
    assert second.purchase_id != first.purchase_id
    assert [o.state for o in orders()] == ["pending", "pending"]


def test_dead_purchase_is_not_reused(shop):
    _, fake = shop
    first = start([(pid("MUG-01"), 1)], None)
    fake.set_state(first.purchase_id, PurchaseState.SESSION_TIMED_OUT.value)
    second = start([(pid("MUG-01"), 1)], first.order_token)
    assert second.purchase_id != first.purchase_id


def test_completed_purchase_is_flagged(shop):
    _, fake = shop
    first = start([(pid("MUG-01"), 1)], None)
    fake.complete(first.purchase_id)
    assert start([(pid("MUG-01"), 1)], first.order_token).completed


def test_unknown_or_foreign_token_starts_fresh(shop):
    first = start([(pid("MUG-01"), 1)], "not-a-token")
    assert not first.reused


@pytest.mark.parametrize(
    "lines, error",
    [
        ([], EmptyCart),
        ([(1, 0)], EmptyCart),
        ([(999, 1)], InvalidCart),
        ([(1, -1)], InvalidCart),
        ([(1, 1.5)], InvalidCart),
        ([(1, 100)], InvalidCart),
    ],
)
def test_bad_carts_are_refused_and_nothing_is_written(shop, lines, error):
    _, fake = shop
    with pytest.raises(error):
        start(lines, None)
    assert orders() == [] and fake.calls == []


def test_out_of_stock(shop):
    with pytest.raises(OutOfStock) as info:
        start([(pid("SOCKS-01"), 6)], None)
    assert info.value.skus == ["SOCKS-01"] and orders() == []


def test_avarda_down_means_no_order(shop):
    _, fake = shop
    fake.init_error = unavailable()
    with pytest.raises(CheckoutUnavailable):
        start([(pid("MUG-01"), 1)], None)
    assert orders() == []


def test_vat_included_rounds_half_up():
    assert vat_included(12500, 25) == 2500
    assert vat_included(10600, 6) == 600
    assert vat_included(1, 25) == 0
    assert vat_included(3, 25) == 1  # 0.6 öre rounds up


def test_order_numbers_carry_32_random_bits():
    number = new_order_number(datetime(2026, 5, 1, tzinfo=UTC))
    assert re.fullmatch(r"260501-[0-9A-F]{8}", number)
    assert len(number) <= Order.__table__.c.number.type.length


def taken_then(*numbers: str):
    """A number generator that hands out ``numbers`` in turn."""
    queue = list(numbers)
    return lambda: queue.pop(0)


def test_a_taken_order_number_starts_again_with_a_new_number_and_purchase(shop, monkeypatch):
    _, fake = shop
    first = start([(pid("MUG-01"), 1)], None)
    taken = orders()[0].number
    monkeypatch.setattr(checkout_module, "new_order_number", taken_then(taken, "260501-FRESH001"))

    second = start([(pid("BOOK-01"), 1)], None)

    assert second.order_number == "260501-FRESH001"
    assert second.purchase_id != first.purchase_id
    assert [o.number for o in orders()] == [taken, "260501-FRESH001"]
    # Avarda only ever sees the number of the order that was stored for its purchase.
    assert fake.purchases[second.purchase_id]["OrderReference"] == "260501-FRESH001"
    assert fake.count("InitializePayment") == 3


def test_order_numbers_taken_three_times_give_up_cleanly(shop, monkeypatch):
    _, fake = shop
    start([(pid("MUG-01"), 1)], None)
    taken = orders()[0].number
    monkeypatch.setattr(checkout_module, "new_order_number", lambda: taken)

    with pytest.raises(CheckoutUnavailable):
        start([(pid("BOOK-01"), 1)], None)

    assert len(orders()) == 1
    assert fake.count("InitializePayment") == 1 + 3
