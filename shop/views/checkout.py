"""The checkout page (Avarda's form) and the done page (the browser path).

``GET /checkout`` renders ``AvardaCheckOutClient.init`` for the cart's pending order.
After an external step (card 3-D Secure, bank, e-ID) Avarda sends the browser back to
``/checkout?callback=…&purchaseId=…``: that re-entry must call ``init`` again with the
SAME purchase, or the purchase stays stuck waiting, so it looks the order up by the
purchase id and never starts a new purchase.

``GET /checkout/done?purchaseId=…`` is where ``done`` sends the browser. It runs the
same confirm step as the server callback: the query string only says which purchase
to ask Avarda about, never what happened.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from shop.avarda import PURCHASE_ID
from shop.cart import Cart
from shop.catalog import products_by_sku
from shop.extensions import avarda_client, db
from shop.models import ConfirmPath, Order, OrderState
from shop.orders.checkout import begin_checkout
from shop.orders.confirm import confirm_purchase
from shop.orders.errors import CheckoutError
from shop.orders.queries import get_order_by_purchase_id, get_order_by_token
from shop.views.session_order import clear_cart_if_paid, forget_finished_order, remember_order

bp = Blueprint("checkout", __name__, url_prefix="/checkout")

FORM_DIV_ID = "avarda-checkout-form"


def _no_store(response: Response) -> Response:
    """Pages carrying a purchase id or order token stay out of caches."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _valid_purchase_id(value: str | None) -> str:
    if not value or not PURCHASE_ID.fullmatch(value):
        abort(400, "That link does not name a valid Avarda purchase.")
    return value


@bp.get("")
def start() -> Response:
    if "purchaseId" in request.args or "callback" in request.args:
        return _reenter(request.args.get("purchaseId"))

    cart = Cart(session)
    forget_finished_order(cart)
    products = products_by_sku(db.session(), (line.sku for line in cart.lines()))
    lines = []
    for line in cart.lines():
        product = products.get(line.sku)
        if product is None:
            cart.remove(line.sku)
            continue
        lines.append((product.id, line.quantity))
    if not lines:
        flash("Your cart is empty. Add something before going to checkout.", "error")
        return redirect(url_for("cart.show"), 303)

    try:
        checkout = begin_checkout(
            db.session(),
            avarda_client(),
            lines,
            cart.order_token,
            language=current_app.config["AVARDA_LANGUAGE"],
        )
    except CheckoutError as error:
        flash(str(error), "error")
        return redirect(url_for("cart.show"), 303)
    cart.order_token = checkout.order_token
    if checkout.completed:
        # Avarda already has this purchase as paid (another tab): confirm it, don't show
        # a form that would only say "completed".
        return redirect(url_for("checkout.done", purchaseId=checkout.purchase_id), 303)
    order = get_order_by_token(db.session(), checkout.order_token)
    if order is None:  # pragma: no cover - begin_checkout just committed it
        abort(503)
    return _render(order)


def _reenter(purchase_id: str | None) -> Response:
    """Back from an external payment step: init again with the same purchase."""
    purchase_id = _valid_purchase_id(purchase_id)
    order = get_order_by_purchase_id(db.session(), purchase_id)
    if order is None:
        abort(404, "We do not know that purchase. Please go to checkout again from your cart.")
    if order.state != OrderState.PENDING:
        return redirect(url_for("checkout.done", purchaseId=purchase_id), 303)
    return _render(order)


def _render(order: Order) -> Response:
    config = current_app.config
    remember_order(order.token)
    public = config["SHOP_PUBLIC_URL"].rstrip("/")
    avarda = config["AVARDA_BASE_URL"].rstrip("/")
    html = render_template(
        "checkout/checkout.html",
        order=order,
        purchase_id=order.purchase_id,
        div_id=FORM_DIV_ID,
        avarda_script_url=f"{avarda}/Scripts/CheckOutClient.js",
        done_url=url_for("checkout.done"),
        callback_url=public + url_for("checkout.start"),
        purchase_completed_url=public + url_for("callback.purchase_completed"),
    )
    return _no_store(current_app.make_response(html))


@bp.get("/done")
def done() -> Response:
    purchase_id = _valid_purchase_id(request.args.get("purchaseId"))
    result = confirm_purchase(
        db.session(),
        avarda_client(),
        purchase_id,
        ConfirmPath.BROWSER,
        shop_url=current_app.config["SHOP_PUBLIC_URL"],
    )
    order = result.order
    if order is None:
        abort(404, "We do not know that purchase. If you paid, the payment is safe with Avarda.")
    clear_cart_if_paid(Cart(session), order)
    html = render_template("checkout/done.html", order=order)
    return _no_store(current_app.make_response(html))
