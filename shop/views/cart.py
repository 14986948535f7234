"""The cart page and the forms that change the cart.

Every change is a POST with a CSRF token that answers with a redirect (post/redirect/get)
and a flash message saying what happened; a bad or stale form changes nothing and says
why. Quantities are checked against stock here for a friendly message, and again,
authoritatively, when the checkout creates the order.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from shop.cart import Cart, CartError, valid_sku
from shop.catalog import PricedCart, get_product_by_sku, price, products_by_sku
from shop.extensions import db
from shop.models import Product
from shop.views.forms import AddToCartForm, RemoveLineForm, UpdateLineForm, first_error
from shop.views.session_order import forget_finished_order

bp = Blueprint("cart", __name__, url_prefix="/cart")


def priced_cart(cart: Cart) -> PricedCart:
    """The cart joined with the catalogue; lines of vanished products leave the cart."""
    lines = cart.lines()
    products = products_by_sku(db.session(), (line.sku for line in lines))
    kept: list[tuple[Product, int]] = []
    for line in lines:
        product = products.get(line.sku)
        if product is None:
            cart.remove(line.sku)
            flash("A product in your cart is no longer sold and was removed.", "warning")
            continue
        kept.append((product, line.quantity))
    return price(kept)


@bp.get("")
def show() -> str:
    cart = Cart(session)
    forget_finished_order(cart)
    priced = priced_cart(cart)
    return render_template(
        "cart/show.html",
        lines=priced.lines,
        count=priced.count,
        total=priced.total_minor,
        vat=priced.vat_minor,
        problems=[line for line in priced.lines if line.quantity > line.stock],
        max_quantity=Cart.MAX_QUANTITY,
    )


def _product(sku: str) -> Product | None:
    return get_product_by_sku(db.session(), sku)


@bp.post("/add")
def add() -> Response:
    form = AddToCartForm()
    if not form.validate():
        return _rejected(form, _back_to_product(form.sku.data))
    wanted = int(form.quantity.data or 0)  # validated: 1 to MAX_QUANTITY
    product = _product(form.sku.data or "")
    if product is None:
        abort(404)
    back = url_for("catalog.product", sku=product.sku)
    cart = Cart(session)
    forget_finished_order(cart)
    room = product.stock - cart.quantity(product.sku)
    if room <= 0:
        flash(f"Sorry, there are no more {product.name} in stock.", "error")
        return redirect(back, 303)
    quantity = min(wanted, room)
    try:
        cart.add(product.sku, quantity)
    except CartError as error:
        flash(str(error), "error")
        return redirect(back, 303)
    if quantity < wanted:
        flash(f"Only {quantity} more {product.name} in stock; added those.", "warning")
    else:
        flash(f"Added {quantity} × {product.name} to your cart.", "success")
    return redirect(back, 303)


@bp.post("/update")
def update() -> Response:
    form = UpdateLineForm()
    if not form.validate():
        return _rejected(form, url_for("cart.show"))
    cart = Cart(session)
    sku, quantity = form.sku.data or "", int(form.quantity.data or 0)
    product = _product(sku)
    if product is not None and quantity > product.stock:
        quantity = max(product.stock, 0)
        if quantity:
            flash(f"Only {quantity} {product.name} in stock.", "warning")
    try:
        cart.set_quantity(sku, quantity)
    except CartError as error:
        flash(str(error), "error")
    else:
        name = product.name if product else "The product"
        if quantity == 0:
            flash(f"Removed {name} from your cart.", "success")
        else:
            flash(f"Updated {name}: {quantity} in your cart.", "success")
    return redirect(url_for("cart.show"), 303)


@bp.post("/remove")
def remove() -> Response:
    form = RemoveLineForm()
    if not form.validate():
        return _rejected(form, url_for("cart.show"))
    sku = form.sku.data or ""
    product = _product(sku)
    if Cart(session).remove(sku):
        flash(f"Removed {product.name if product else 'the product'} from your cart.", "success")
    else:
        flash("That product was not in your cart.", "warning")
    return redirect(url_for("cart.show"), 303)


def _rejected(form: FlaskForm, back: str) -> Response:
    """The answer to a form that failed validation: 400 for an expired or missing CSRF
    token (a stale page; nothing to flash), otherwise the first error and back to
    ``back``."""
    if "csrf_token" in form.errors:
        abort(400, "The form has expired. Please reload the page and try again.")
    flash(first_error(form), "error")
    return redirect(back, 303)


def _back_to_product(sku: object) -> str:
    if valid_sku(sku):
        return url_for("catalog.product", sku=sku)
    return url_for("catalog.index")
