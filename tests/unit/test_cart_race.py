"""Issue 7 item 8: the cart changes in one tab while another tab pays the old purchase.

An order is paid with exactly the lines Avarda charged, and a purchase the shop replaced
that completes anyway is found by its id and held for review, never lost.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import current_app

from shop.avarda import AvardaNotSent, AvardaTimeout, PurchaseState
from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import ConfirmPath, Order, Product
from shop.orders.checkout import CheckoutSession, begin_checkout
from shop.orders.confirm import ConfirmOutcome, ConfirmResult, confirm_purchase
from shop.orders.errors import CheckoutUnavailable


def pid(sku: str) -> int:
    return get_product_by_sku(db.session(), sku).id


def start(lines: list[tuple[str, int]], token: str | None = None) -> CheckoutSession:
    ids = [(pid(sku), qty) for sku, qty in lines]
    return begin_checkout(db.session(), avarda_client(), ids, token)


def confirm(purchase_id: str, path: str = "callback") -> ConfirmResult:
    return confirm_purchase(
        db.session(),
        avarda_client(),
        purchase_id,
        ConfirmPath(path),
        shop_url=current_app.config["SHOP_PUBLIC_URL"],
    )


def order(purchase_id: str) -> Order:
    db.session.expire_all()
    return db.session.scalars(sa.select(Order).where(Order.purchase_id == purchase_id)).one()


def lines(o: Order) -> list[tuple[str, int]]:
    return [(line.sku, line.quantity) for line in o.lines]


def all_orders() -> list[Order]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Order).order_by(Order.id)))


def test_paid_in_the_other_tab_during_the_update_pays_the_cart_avarda_charged(shop):
    """UpdateItems is applied, the customer completes at once and the callback confirms
    before the shop has stored the new lines: the order is paid with the new lines."""
    _, fake = shop
    first = start([("MUG-01", 1)])

    def pay_now(purchase_id: str) -> None:
        fake.purchases[purchase_id]["Price"] = Decimal("249.00")  # Avarda took the new cart
        fake.complete(purchase_id)
        assert confirm(purchase_id).outcome is ConfirmOutcome.CONFIRMED_NOW

    fake.during_update = pay_now
    again = start([("TEE-01", 1)], first.order_token)

    paid = order(first.purchase_id)
    assert paid.state == "paid" and lines(paid) == [("TEE-01", 1)]
    assert paid.total_minor == 24900 == paid.avarda_price_minor
    assert paid.cart_in_flight is None
    assert again.completed and again.purchase_id == first.purchase_id
    assert len(all_orders()) == 1  # no second form for the customer to pay


def test_paid_with_the_old_cart_before_the_update_keeps_the_old_lines(shop):
    _, fake = shop
    first = start([("MUG-01", 1)])

    def pay_now(purchase_id: str) -> None:
        fake.complete(purchase_id)  # completed first: Avarda refuses the update
        assert confirm(purchase_id).outcome is ConfirmOutcome.CONFIRMED_NOW

    fake.during_update = pay_now
    again = start([("TEE-01", 1)], first.order_token)

    paid = order(first.purchase_id)
    assert paid.state == "paid" and lines(paid) == [("MUG-01", 1)]
    assert paid.total_minor == 14900 and paid.cart_in_flight is None
    assert again.completed and len(all_orders()) == 1


def test_completed_before_the_refusal_is_seen_shows_the_paid_order(shop):
    """Completed in the other tab, not yet confirmed: the changed cart leads to the done
    page of the paid purchase, not to a second form."""
    _, fake = shop
    first = start([("MUG-01", 1)])
    fake.during_update = fake.complete
    again = start([("TEE-01", 1)], first.order_token)
    assert again.completed and again.purchase_id == first.purchase_id
    assert len(all_orders()) == 1
    assert confirm(first.purchase_id).outcome is ConfirmOutcome.CONFIRMED_NOW
    assert lines(order(first.purchase_id)) == [("MUG-01", 1)]


def test_an_update_with_an_unknown_outcome_is_settled_by_avardas_price(shop):
    _, fake = shop
    first = start([("MUG-01", 1)])
    fake.update_error, fake.update_applied = AvardaTimeout("UpdateItems: timeout"), True
    with pytest.raises(CheckoutUnavailable):
        start([("TEE-01", 2)], first.order_token)
    noted = order(first.purchase_id)
    assert lines(noted) == [("MUG-01", 1)] and noted.cart_in_flight is not None

    fake.complete(first.purchase_id)  # Avarda had applied it: it charges 2 x 249.00
    assert confirm(first.purchase_id).outcome is ConfirmOutcome.CONFIRMED_NOW
    paid = order(first.purchase_id)
    assert lines(paid) == [("TEE-01", 2)] and paid.total_minor == 49800
    assert paid.cart_in_flight is None


def test_an_update_with_an_unknown_outcome_that_was_not_applied(shop):
    _, fake = shop
    first = start([("MUG-01", 1)])
    fake.update_error = AvardaTimeout("UpdateItems: timeout")  # not applied at Avarda
    with pytest.raises(CheckoutUnavailable):
        start([("TEE-01", 2)], first.order_token)
    fake.complete(first.purchase_id)
    assert confirm(first.purchase_id).outcome is ConfirmOutcome.CONFIRMED_NOW
    assert lines(order(first.purchase_id)) == [("MUG-01", 1)]


def test_after_an_unknown_outcome_another_cart_gets_a_new_order(shop):
    """The purchase may hold either cart: a third cart is never sent to it."""
    _, fake = shop
    first = start([("MUG-01", 1)])
    fake.update_error = AvardaTimeout("UpdateItems: timeout")
    with pytest.raises(CheckoutUnavailable):
        start([("TEE-01", 2)], first.order_token)
    fake.update_error = None
    third = start([("BOOK-01", 1)], first.order_token)
    assert third.purchase_id != first.purchase_id
    assert fake.count("UpdateItems") == 1
    old = order(first.purchase_id)
    assert old.replaced_by_number == third.order_number and old.cart_in_flight is not None


def test_the_same_cart_after_an_unknown_outcome_is_sent_again(shop):
    _, fake = shop
    first = start([("MUG-01", 1)])
    fake.update_error = AvardaTimeout("UpdateItems: timeout")
    with pytest.raises(CheckoutUnavailable):
        start([("TEE-01", 2)], first.order_token)
    fake.update_error = None
    again = start([("TEE-01", 2)], first.order_token)
    assert again.purchase_id == first.purchase_id and again.total_minor == 49800
    settled = order(first.purchase_id)
    assert lines(settled) == [("TEE-01", 2)] and settled.cart_in_flight is None


def test_an_update_never_sent_changes_nothing(shop):
    _, fake = shop
    first = start([("MUG-01", 1)])
    fake.update_error = AvardaNotSent("UpdateItems: connection refused")
    with pytest.raises(CheckoutUnavailable):
        start([("TEE-01", 2)], first.order_token)
    unchanged = order(first.purchase_id)
    assert lines(unchanged) == [("MUG-01", 1)] and unchanged.cart_in_flight is None


def test_two_carts_with_the_same_total_are_held_for_review(shop):
    _, fake = shop
    db.session.execute(
        sa.update(Product).where(Product.sku == "SOCKS-01").values(price_minor=14900)
    )
    db.session.commit()
    first = start([("MUG-01", 1)])
    fake.update_error, fake.update_applied = AvardaTimeout("UpdateItems: timeout"), True
    with pytest.raises(CheckoutUnavailable):
        start([("SOCKS-01", 1)], first.order_token)
    fake.complete(first.purchase_id)

    assert confirm(first.purchase_id).outcome is ConfirmOutcome.ON_HOLD
    held = order(first.purchase_id)
    assert held.state == "on_hold" and "both carts" in (held.hold_reason or "")
    assert held.cart_in_flight is not None  # kept for the person who reviews it


def test_a_replaced_purchase_that_completes_anyway_is_held_for_review(shop):
    """The customer is at the card step in one tab (UpdateItems refused), changes the cart
    in another and gets a new order; then the first tab's payment completes."""
    _, fake = shop
    first = start([("MUG-01", 1)])
    fake.set_state(first.purchase_id, PurchaseState.WAITING_FOR_CARD_PAYMENTS)
    second = start([("TEE-01", 1)], first.order_token)
    assert second.purchase_id != first.purchase_id

    fake.complete(first.purchase_id)
    result = confirm(first.purchase_id)

    assert result.outcome is ConfirmOutcome.ON_HOLD and result.is_done
    held = order(first.purchase_id)
    assert held.replaced_by_number == second.order_number
    assert second.order_number in (held.hold_reason or "") and lines(held) == [("MUG-01", 1)]
    assert order(second.purchase_id).state == "pending"


def test_a_dead_purchase_is_replaced_and_fails_as_before(shop):
    _, fake = shop
    first = start([("MUG-01", 1)])
    fake.set_state(first.purchase_id, PurchaseState.SESSION_TIMED_OUT)
    second = start([("MUG-01", 1)], first.order_token)
    assert second.purchase_id != first.purchase_id
    assert confirm(first.purchase_id, "sweep").outcome is ConfirmOutcome.FAILED
