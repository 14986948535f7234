"""The catalogue and the product pages (read-only; adding to the cart is in cart.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, session, url_for

from shop.cart import Cart, valid_sku
from shop.catalog import get_product_by_sku, list_products, price
from shop.extensions import db
from shop.models import Product
from shop.views.forms import AddToCartForm
from shop.views.session_order import remembered_order

bp = Blueprint("catalog", __name__)


def product_or_404(sku: str) -> Product:
    if not valid_sku(sku):
        abort(404)
    product = get_product_by_sku(db.session(), sku)
    if product is None:
        abort(404)
    return product


@bp.get("/")
def index() -> str:
    """All products, those in stock first, in the order they were seeded."""
    products = sorted(list_products(db.session()), key=lambda p: p.stock <= 0)
    return render_template("catalog/index.html", products=products, try_it=_try_it())


def _try_it() -> dict[str, Any] | None:
    """The demo's "Try it" panel (demo mode only): where to watch each story."""
    config = current_app.config
    if config.get("SHOP_ENV", "demo") != "demo":
        return None
    sandbox = str(config["AVARDA_BASE_URL"]).rstrip("/") + "/Sandbox"
    last = remembered_order()
    return {
        "dashboard": sandbox + "/",
        "presets": f"{sandbox}/merchants/{config['AVARDA_SITE_CODE']}#presets",
        "deliveries": sandbox + "/deliveries",
        "admin": url_for("admin.orders"),
        "last_order": url_for("orders.show", token=last.token) if last else None,
        "sweep_after": round(float(config["RECONCILE_MIN_AGE"])),
    }


@bp.get("/products/<sku>")
def product(sku: str) -> str:
    item = product_or_404(sku)
    form = AddToCartForm(sku=item.sku, quantity=1)
    return render_template(
        "catalog/product.html",
        product=item,
        form=form,
        vat_percent=item.vat_percent,
        vat_amount=price([(item, 1)]).vat_minor,
        in_cart=Cart(session).quantity(item.sku),
        max_quantity=min(Cart.MAX_QUANTITY, max(item.stock, 1)),
    )
