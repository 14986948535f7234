"""The link between a browser's session and the order it last checked out.

A customer whose browser never came back from Avarda (tab closed, callback confirmed
the order) still has the paid items in the session cart. The next time they open the
cart or the checkout, the cart notices that its order is paid and empties itself, so
nobody pays twice by accident.
"""

from __future__ import annotations

from flask import flash, session

from shop.cart import Cart
from shop.extensions import db
from shop.models import Order, OrderState
from shop.orders.queries import get_order_by_token


def forget_finished_order(cart: Cart) -> None:
    """Empty the cart if its order was paid (or held after payment); forget a dead order."""
    token = cart.order_token
    if token is None:
        return
    order = get_order_by_token(db.session(), token)
    if order is None:
        cart.order_token = None
    elif order.state in (OrderState.PAID, OrderState.ON_HOLD):
        number = order.number
        cart.clear()
        flash(f"Order {number} is paid, thank you. Your cart is empty again.", "success")
    elif order.state == OrderState.FAILED:
        cart.order_token = None


def clear_cart_if_paid(cart: Cart, order: Order) -> None:
    """Empty the cart when ``order`` is its order and is paid (or held after payment):
    the page saying "Payment confirmed" must not show the paid items still in the cart."""
    if order.state in (OrderState.PAID, OrderState.ON_HOLD) and cart.order_token == order.token:
        cart.clear()


LAST_ORDER = "last_order"


def remember_order(token: str) -> None:
    """The order this browser last checked out, for the demo's links to its page."""
    session[LAST_ORDER] = token


def remembered_order() -> Order | None:
    token = session.get(LAST_ORDER)
    return get_order_by_token(db.session(), token) if isinstance(token, str) else None
