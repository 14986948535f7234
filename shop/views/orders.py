"""The customer's order page and its small JSON status document.

The public token in the URL is the only key (unguessable, unlike the order number),
so an unknown token is a plain 404 that reveals nothing.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from shop.avarda import PURCHASE_ID
from shop.cart import Cart
from shop.extensions import db
from shop.models import Order
from shop.orders.commerce import applied_actions
from shop.orders.queries import (
    get_order_by_purchase_id,
    get_order_by_token,
    order_status_json,
    timeline,
)
from shop.views.session_order import clear_cart_if_paid

bp = Blueprint("orders", __name__, url_prefix="/orders")


def _order_or_none(token: str) -> Order | None:
    return get_order_by_token(db.session(), token)


@bp.get("/<token>")
def show(token: str) -> str:
    order = _order_or_none(token)
    if order is None:
        abort(404, "We could not find that order. Check the link in your confirmation e-mail.")
    return render_template(
        "orders/show.html",
        order=order,
        timeline=timeline(db.session(), order),
        after_payment=applied_actions(db.session(), order),
        status_url=url_for("orders.status", token=order.token),
    )


@bp.get("/purchase/<purchase_id>")
def by_purchase(purchase_id: str) -> Response:
    """The order of an Avarda purchase: a link the sandbox's dashboard gives in the demo.

    Whoever holds the purchase id can already reach the order's page through the done
    page (``/checkout/done?purchaseId=…`` links to it), so this reveals nothing more; it
    only spares the confirm step that the done page runs.
    """
    order = (
        get_order_by_purchase_id(db.session(), purchase_id)
        if PURCHASE_ID.fullmatch(purchase_id)
        else None
    )
    if order is None:
        abort(404, "We could not find that order.")
    return redirect(url_for("orders.show", token=order.token), 303)


@bp.get("/<token>/status")
def status(token: str) -> Response:
    order = _order_or_none(token)
    if order is None:
        response = jsonify(error="Not Found", message="No order has this token.", status=404)
        response.status_code = 404
        return response
    return jsonify(order_status_json(order))


@bp.get("/<token>/panel")
def panel(token: str) -> str:
    """The status panel alone (HTML), for a page that followed a pending order by its
    status JSON and now shows the outcome: the done page and the checkout page.

    Like the done page, it empties this browser's cart once its order is paid, so the
    header's badge (the panel carries the new count) is right at once.
    """
    order = _order_or_none(token)
    if order is None:
        abort(404, "We could not find that order.")
    cart = Cart(session)
    clear_cart_if_paid(cart, order)
    level = 2 if request.args.get("level") == "2" else 1
    return render_template(
        "orders/panel.html", order=order, heading_level=level, cart_count=cart.count()
    )
