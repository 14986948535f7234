"""The cart page and the forms that change the cart.

Every change is a POST with a CSRF token that answers with a redirect (post/redirect/get)
and a flash message saying what happened; a bad or stale form changes nothing and says
why. Quantities are checked against stock here for a friendly message, and again,
authoritatively, when the checkout creates the order.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from werkzeug.wrappers import Response

from shop.cart import Cart, CartError, valid_sku
from shop.models import Product
from shop.orders.catalog import get_product_by_sku, products_by_sku
from shop.orders.checkout import vat_included
from shop.views.forms import AddToCartForm, RemoveLineForm, UpdateLineForm, first_error
from shop.views.session_order import forget_finished_order

bp = Blueprint("cart", __name__, url_prefix="/cart")


@dataclass(frozen=True)
class DisplayLine:
    sku: str
    name: str
    image: str
    quantity: int
    stock: int
    unit_price: int
    total: int
    vat: int


def display_lines(cart: Cart) -> list[DisplayLine]:
    """The cart joined with the catalogue; lines of vanished products leave the cart."""
    lines = cart.lines()
    products = products_by_sku(line.sku for line in lines)
    shown: list[DisplayLine] = []
    for line in lines:
        product = products.get(line.sku)
        if product is None:
            cart.remove(line.sku)
            flash("A product in your cart is no longer sold and was removed.", "warning")
            continue
        total = product.price_minor * line.quantity
        shown.append(
            DisplayLine(
                sku=product.sku,
                name=product.name,
                image=product.image,
                quantity=line.quantity,
                stock=product.stock,
                unit_price=product.price_minor,
                total=total,
                vat=vat_included(total, product.vat_percent),
            )
        )
    return shown


@bp.get("")
def show() -> str:
    cart = Cart(session)
    forget_finished_order(cart)
    lines = display_lines(cart)
    return render_template(
        "cart/show.html",
        lines=lines,
        count=sum(line.quantity for line in lines),
        total=sum(line.total for line in lines),
        vat=sum(line.vat for line in lines),
        problems=[line for line in lines if line.quantity > line.stock],
        max_quantity=Cart.MAX_QUANTITY,
    )


def _product(sku: str) -> Product | None:
    return get_product_by_sku(sku)


@bp.post("/add")
def add() -> Response:
    form = AddToCartForm()
    if not form.validate():
        if "csrf_token" in form.errors:
            abort(400, "The form has expired. Please reload the page and try again.")
        flash(first_error(form), "error")
        return redirect(_back_to_product(form.sku.data), 303)
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
        if "csrf_token" in form.errors:
            abort(400, "The form has expired. Please reload the page and try again.")
        flash(first_error(form), "error")
        return redirect(url_for("cart.show"), 303)
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
        if "csrf_token" in form.errors:
            abort(400, "The form has expired. Please reload the page and try again.")
        flash(first_error(form), "error")
        return redirect(url_for("cart.show"), 303)
    sku = form.sku.data or ""
    product = _product(sku)
    if Cart(session).remove(sku):
        flash(f"Removed {product.name if product else 'the product'} from your cart.", "success")
    else:
        flash("That product was not in your cart.", "warning")
    return redirect(url_for("cart.show"), 303)


def _back_to_product(sku: object) -> str:
    if valid_sku(sku):
        return url_for("catalog.product", sku=sku)
    return url_for("catalog.index")
