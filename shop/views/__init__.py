"""The shop's blueprints. ``create_app`` registers every blueprint in ``BLUEPRINTS``,
in this order; add a new one here and nowhere else."""

from __future__ import annotations

from flask import Blueprint

from shop.views.admin import bp as admin
from shop.views.callback import bp as callback
from shop.views.cart import bp as cart
from shop.views.catalog import bp as catalog
from shop.views.checkout import bp as checkout
from shop.views.commerce import bp as commerce
from shop.views.orders import bp as orders
from shop.views.templating import bp as templating

BLUEPRINTS: list[Blueprint] = [
    callback,
    templating,
    catalog,
    cart,
    checkout,
    orders,
    admin,
    commerce,
]
