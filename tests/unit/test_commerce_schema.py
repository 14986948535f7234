"""The after-payment schema: existing orders migrate to "nothing delivered", the database
itself refuses impossible amounts and quantities, and a cancelled order stays cancelled
whatever Avarda's notifications say afterwards."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_migrate import downgrade, upgrade

from shop import MIGRATIONS_DIR
from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import CommerceKind, EventOutcome, Order, OrderEvent, OrderLine, OrderState
from shop.orders.checkout import begin_checkout
from shop.orders.commerce import Answer
from shop.orders.confirm import ConfirmOutcome, confirm_purchase

BEFORE_COMMERCE = "c3e1f0a7d5b2"


def paid_order(fake, quantity: int = 2) -> Order:
    mug = get_product_by_sku(db.session(), "MUG-01")
    session = begin_checkout(db.session(), avarda_client(), [(mug.id, quantity)], None)
    fake.complete(session.purchase_id)
    result = confirm_purchase(
        db.session(),
        avarda_client(),
        session.purchase_id,
        "callback",
        shop_url=current_app.config["SHOP_PUBLIC_URL"],
    )
    assert result.outcome is ConfirmOutcome.CONFIRMED_NOW
    assert result.order is not None
    return result.order


def refused(statement: sa.Executable) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(statement)
        db.session.flush()
    db.session.rollback()


def test_existing_orders_migrate_to_nothing_delivered(shop):
    _, fake = shop
    order = paid_order(fake)
    db.session.remove()
    downgrade(directory=str(MIGRATIONS_DIR), revision=BEFORE_COMMERCE)
    upgrade(directory=str(MIGRATIONS_DIR))

    order = db.session.get(Order, order.id)
    assert order is not None and order.state == "paid"
    assert (order.delivered_minor, order.returned_minor, order.refunded_minor) == (0, 0, 0)
    assert order.open_minor == order.total_minor and order.refundable_minor == 0
    assert [(line.delivered_quantity, line.returned_quantity) for line in order.lines] == [(0, 0)]


def test_the_database_refuses_impossible_fulfilment(shop):
    _, fake = shop
    order = paid_order(fake, quantity=2)
    line_id = order.lines[0].id
    for statement in (
        sa.update(OrderLine).where(OrderLine.id == line_id).values(delivered_quantity=3),
        sa.update(OrderLine)
        .where(OrderLine.id == line_id)
        .values(delivered_quantity=1, returned_quantity=2),
        sa.update(Order)
        .where(Order.id == order.id)
        .values(delivered_minor=100, refunded_minor=101),
        sa.update(Order).where(Order.id == order.id).values(released_minor=-1),
        sa.update(Order).where(Order.id == order.id).values(state="shipped"),
    ):
        refused(statement)
    db.session.execute(
        sa.update(Order)
        .where(Order.id == order.id)
        .values(state="cancelled", delivered_minor=100, returned_minor=60, refunded_minor=40)
    )
    db.session.commit()


def test_downgrade_refuses_to_forget_a_cancelled_order(shop):
    _, fake = shop
    order = paid_order(fake)
    db.session.execute(sa.update(Order).where(Order.id == order.id).values(state="cancelled"))
    db.session.commit()
    db.session.remove()
    with pytest.raises(SystemExit):  # Flask-Migrate logs the RuntimeError and exits
        downgrade(directory=str(MIGRATIONS_DIR), revision=BEFORE_COMMERCE)
    db.session.remove()
    # Read through SQL: later migrations may have been undone before this one refused.
    state = db.session.scalar(sa.text('SELECT state FROM "order" WHERE id = :id'), {"id": order.id})
    assert state == "cancelled"


def test_a_cancelled_order_ignores_later_notifications(shop):
    _, fake = shop
    order = paid_order(fake)
    db.session.execute(sa.update(Order).where(Order.id == order.id).values(state="cancelled"))
    db.session.commit()
    assert order.purchase_id is not None
    for state in (2, 8):  # Completed again, then Avarda's own Cancelled
        fake.set_state(order.purchase_id, state)
        result = confirm_purchase(
            db.session(),
            avarda_client(),
            order.purchase_id,
            "callback",
            shop_url=current_app.config["SHOP_PUBLIC_URL"],
        )
        assert result.outcome is ConfirmOutcome.CANCELLED and result.is_done
    db.session.expire_all()
    assert db.session.get(Order, order.id).state == OrderState.CANCELLED
    outcomes = db.session.scalars(
        sa.select(OrderEvent.outcome).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
    ).all()
    assert outcomes == ["paid", "duplicate", "duplicate"]


def test_an_admin_check_is_recorded_with_the_admin(shop):
    _, fake = shop
    mug = get_product_by_sku(db.session(), "MUG-01")
    session = begin_checkout(db.session(), avarda_client(), [(mug.id, 1)], None)
    fake.complete(session.purchase_id)
    admin_id = db.session.scalar(sa.text("SELECT id FROM admin_user"))

    result = confirm_purchase(
        db.session(),
        avarda_client(),
        session.purchase_id,
        "admin",
        admin_id=admin_id,
        shop_url=current_app.config["SHOP_PUBLIC_URL"],
    )

    assert result.outcome is ConfirmOutcome.CONFIRMED_NOW
    assert result.order is not None and result.order.confirmed_by == "admin"
    event = db.session.scalars(
        sa.select(OrderEvent).where(OrderEvent.order_id == result.order.id)
    ).one()
    assert (event.path, event.admin_id, event.outcome) == ("admin", admin_id, "paid")


@pytest.mark.parametrize("kind", list(CommerceKind))
@pytest.mark.parametrize("answer", list(Answer))
def test_every_answer_to_every_commerce_call_is_an_event_outcome(kind, answer):
    outcome = EventOutcome.of_commerce(kind, answer.value)
    assert outcome == f"{kind.value}_{answer.value}"
    assert not outcome.is_notification
