"""The catalogue: reading products, and seeding the demo catalogue and admin."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from shop.extensions import db
from shop.models import AdminUser, Product
from shop.orders.transactions import write_transaction

log = logging.getLogger(__name__)

#: The demo catalogue. ``image`` is ``<sku in lower case>.svg`` under static/img/products/.
DEMO_PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        "sku": "MUG-01",
        "name": "Enamel camp mug",
        "description": "A white enamel mug with a blue rim. Survives campfires and dishwashers.",
        "price_minor": 14900,
        "vat_percent": 25,
        "stock": 50,
    },
    {
        "sku": "TEE-01",
        "name": "Organic cotton T-shirt",
        "description": "Heavy organic cotton, printed in Borås with a small Avarda-blue logo.",
        "price_minor": 24900,
        "vat_percent": 25,
        "stock": 40,
    },
    {
        "sku": "BOOK-01",
        "name": "Payments, plainly",
        "description": "A short book on how card, invoice and bank payments really work.",
        "price_minor": 32900,
        "vat_percent": 6,
        "stock": 25,
    },
    {
        "sku": "COFFEE-01",
        "name": "Coffee beans, 500 g",
        "description": "Medium roast from a small roastery in Gothenburg.",
        "price_minor": 12950,
        "vat_percent": 12,
        "stock": 60,
    },
    {
        "sku": "LAMP-01",
        "name": "Desk lamp",
        "description": "A birch and steel desk lamp with a warm LED bulb.",
        "price_minor": 59900,
        "vat_percent": 25,
        "stock": 10,
    },
    {
        "sku": "SOCKS-01",
        "name": "Wool socks",
        "description": "Thick merino wool socks. Only a few pairs left.",
        "price_minor": 9900,
        "vat_percent": 25,
        "stock": 5,
    },
)


def list_products() -> list[Product]:
    return list(db.session.scalars(sa.select(Product).order_by(Product.id)))


def get_product(product_id: int) -> Product | None:
    return db.session.get(Product, product_id)


def get_product_by_sku(sku: str) -> Product | None:
    return db.session.scalars(sa.select(Product).where(Product.sku == sku)).one_or_none()


def products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    wanted = list(set(skus))
    if not wanted:
        return {}
    rows = db.session.scalars(sa.select(Product).where(Product.sku.in_(wanted)))
    return {p.sku: p for p in rows}


def seed_catalogue(products: Sequence[dict[str, Any]] = DEMO_PRODUCTS) -> int:
    """Insert the demo products that do not exist yet (by SKU); returns how many.

    Existing products are never changed, so stock sold in the demo stays sold.
    """
    with write_transaction() as session:
        existing = set(session.scalars(sa.select(Product.sku)))
        added = 0
        for data in products:
            if data["sku"] not in existing:
                session.add(Product(image=f"{data['sku'].lower()}.svg", **data))
                added += 1
    return added


def seed_admin(email: str, password: str) -> bool:
    """Create the admin user if both settings are given and it does not exist yet.

    The password of an existing admin is updated to the configured one, so changing
    ``ADMIN_PASSWORD`` and re-running setup works.
    """
    if not email or not password:
        log.info("ADMIN_EMAIL/ADMIN_PASSWORD not set: no admin user created")
        return False
    with write_transaction() as session:
        user = session.scalars(sa.select(AdminUser).where(AdminUser.email == email)).one_or_none()
        if user is None:
            user = AdminUser(email=email)
            session.add(user)
        if not user.password_hash or not user.check_password(password):
            user.set_password(password)
    return True
