"""Issue 7 item 7: Avarda's answers the shop cannot act on are recorded, once, for a person.

A State or PaymentMethod the shop does not know, or Avarda refusing to report a purchase
the shop created, leaves the order as it is, puts the words on the order
(``avarda_problem``: the back office lists it as needing attention), writes one event
per new answer (not one per sweep) and one warning, and the callback answers 503.
"""

from __future__ import annotations

import base64
import logging

import pytest
import sqlalchemy as sa
from flask import current_app

from shop.avarda import AvardaCheckoutRefused, AvardaProtocolError
from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import ConfirmPath, Order, OrderEvent, OutboxEmail, Product
from shop.orders.checkout import begin_checkout
from shop.orders.confirm import ConfirmOutcome, ConfirmResult, confirm_purchase
from tests.harness import CALLBACK_PASSWORD
from tests.harness import CALLBACK_USERNAME as CALLBACK_USER

GOOD = "Basic " + base64.b64encode(f"{CALLBACK_USER}:{CALLBACK_PASSWORD}".encode()).decode()


def new_order() -> str:
    product = get_product_by_sku(db.session(), "MUG-01")
    return begin_checkout(db.session(), avarda_client(), [(product.id, 1)], None).purchase_id


def confirm(purchase_id: str, path: str) -> ConfirmResult:
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


def events(o: Order) -> list[tuple[str, str, str]]:
    rows = db.session.scalars(
        sa.select(OrderEvent).where(OrderEvent.order_id == o.id).order_by(OrderEvent.id)
    )
    return [(e.path, e.outcome, e.detail) for e in rows]


def test_an_unknown_state_is_recorded_once_and_changes_nothing(shop, caplog):
    _, fake = shop
    purchase_id = new_order()
    fake.set_state(purchase_id, 12)
    caplog.set_level(logging.WARNING, logger="shop.orders.confirm")

    results = [confirm(purchase_id, path) for path in ("sweep", "sweep", "sweep")]

    assert {r.outcome for r in results} == {ConfirmOutcome.NEEDS_ATTENTION}
    assert not any(r.is_done for r in results)
    o = order(purchase_id)
    assert o.state == "pending" and o.confirmed_by is None
    assert o.avarda_problem == "Avarda reports State 12, which this shop does not know."
    assert events(o) == [("sweep", "attention", o.avarda_problem)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "State 12" in warnings[0].getMessage()


def test_each_notification_is_still_recorded_but_the_problem_only_once(shop):
    _, fake = shop
    purchase_id = new_order()
    fake.set_state(purchase_id, "Finished")
    confirm(purchase_id, "callback")
    confirm(purchase_id, "callback")
    confirm(purchase_id, "sweep")
    fake.set_state(purchase_id, 13)
    confirm(purchase_id, "sweep")

    o = order(purchase_id)
    problem = "Avarda reports State 13, which this shop does not know."
    assert o.avarda_problem == problem
    assert events(o) == [
        ("callback", "attention", "Avarda reports State Finished, which this shop does not know."),
        ("callback", "attention_again", ""),
        ("sweep", "attention", problem),
    ]


def test_an_unknown_method_on_a_completed_purchase_is_not_paid(shop):
    _, fake = shop
    purchase_id = new_order()
    stock = db.session.scalar(sa.select(Product.stock).where(Product.sku == "MUG-01"))
    fake.complete(purchase_id, method=10)

    assert confirm(purchase_id, "callback").outcome is ConfirmOutcome.NEEDS_ATTENTION

    o = order(purchase_id)
    assert o.state == "pending" and o.payment_method is None
    assert o.avarda_problem == "Avarda reports Method 10, which this shop does not know."
    assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) == 0
    assert db.session.scalar(sa.select(Product.stock).where(Product.sku == "MUG-01")) == stock


def test_a_known_answer_later_clears_the_problem_and_pays(shop):
    _, fake = shop
    purchase_id = new_order()
    fake.complete(purchase_id, method=10)
    confirm(purchase_id, "callback")
    fake.complete(purchase_id, method=0)  # the shop learns the method (or Avarda fixes it)

    assert confirm(purchase_id, "sweep").outcome is ConfirmOutcome.CONFIRMED_NOW
    o = order(purchase_id)
    assert o.state == "paid" and o.avarda_problem is None and o.payment_method == "Invoice"


@pytest.mark.parametrize(
    "error, words",
    [
        (
            AvardaCheckoutRefused("GetPaymentStatus: refused", 1002, ["Purchase not found."]),
            "Avarda refuses to report this purchase: Purchase not found.",
        ),
        (
            AvardaProtocolError("GetPaymentStatus: malformed Price"),
            "Avarda's answer about this purchase could not be read.",
        ),
    ],
)
def test_a_purchase_avarda_will_not_report_needs_attention(shop, error, words):
    _, fake = shop
    purchase_id = new_order()
    fake.status_error = error
    for _ in range(3):
        assert confirm(purchase_id, "sweep").outcome is ConfirmOutcome.NEEDS_ATTENTION
    o = order(purchase_id)
    assert o.state == "pending" and o.avarda_problem == words
    assert events(o) == [("sweep", "attention", words)]


def test_a_failed_order_with_an_unknown_state_needs_attention_too(shop):
    _, fake = shop
    purchase_id = new_order()
    fake.set_state(purchase_id, 5)
    assert confirm(purchase_id, "sweep").outcome is ConfirmOutcome.FAILED
    fake.set_state(purchase_id, 77)
    assert confirm(purchase_id, "sweep").outcome is ConfirmOutcome.NEEDS_ATTENTION
    o = order(purchase_id)
    assert o.state == "failed" and "State 77" in (o.avarda_problem or "")


def test_a_paid_order_ignores_an_unknown_state_later(shop):
    _, fake = shop
    purchase_id = new_order()
    fake.complete(purchase_id)
    confirm(purchase_id, "callback")
    fake.set_state(purchase_id, 42)
    assert confirm(purchase_id, "sweep").outcome is ConfirmOutcome.ALREADY_CONFIRMED
    assert order(purchase_id).avarda_problem is None


def test_the_callback_answers_503_for_an_unknown_state(shop):
    app, fake = shop
    purchase_id = new_order()
    fake.set_state(purchase_id, 12)
    response = app.test_client().post(
        "/avarda/purchase-completed",
        json={"purchaseId": purchase_id},
        headers={"Authorization": GOOD},
    )
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json == {
        "error": "needs_attention",
        "message": "Avarda's answer needs a person; it was recorded.",
        "purchaseId": purchase_id,
    }
    assert order(purchase_id).avarda_problem
