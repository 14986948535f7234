"""The steps of an order as the unit tests of the services take them, inside the ``shop``
fixture's app context: a checkout with the app's (fake) Avarda client, the confirm step, and
fresh reads of an order and its events. Plain functions; the fixtures are in ``conftest.py``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import ConfirmPath, Order, OrderEvent
from shop.orders.checkout import CheckoutSession, begin_checkout
from shop.orders.confirm import ConfirmResult, confirm_purchase


def confirm(purchase_id: str, path: str) -> ConfirmResult:
    """The confirm step as the app runs it: the app's session and (fake) Avarda client."""
    return confirm_purchase(
        db.session(),
        avarda_client(),
        purchase_id,
        ConfirmPath(path),
        shop_url=current_app.config["SHOP_PUBLIC_URL"],
    )


def start_checkout(lines: list[tuple[int, int]], token: str | None) -> CheckoutSession:
    return begin_checkout(db.session(), avarda_client(), lines, token)


def checkout(*skus_and_qty: tuple[str, int]) -> tuple[str, str]:
    """A pending order for the cart; returns (purchase id, token)."""
    lines = [(get_product_by_sku(db.session(), sku).id, qty) for sku, qty in skus_and_qty]
    session = start_checkout(lines, None)
    return session.purchase_id, session.order_token


def order_of(purchase_id: str) -> Order:
    """The order as the database has it now (the session's cache expired first)."""
    db.session.expire_all()
    return db.session.scalars(sa.select(Order).where(Order.purchase_id == purchase_id)).one()


def events(order: Order) -> list[OrderEvent]:
    """The order's confirm events, oldest first."""
    return list(
        db.session.scalars(
            sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
        )
    )
