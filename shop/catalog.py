"""The catalogue: products, their prices with VAT, and the demo catalogue.

:func:`price` is the one place where a cart's totals and VAT are computed: the cart
page, the product page and the checkout all use it. Framework-free: every function
takes a SQLAlchemy ``Session``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Product
from .transactions import write_transaction

log = logging.getLogger(__name__)

#: At most this many of one product in a cart and in an order.
MAX_QUANTITY = 99

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


def list_products(session: Session) -> list[Product]:
    return list(session.scalars(sa.select(Product).order_by(Product.id)))


def get_product_by_sku(session: Session, sku: str) -> Product | None:
    return session.scalars(sa.select(Product).where(Product.sku == sku)).one_or_none()


def products_by_sku(session: Session, skus: Iterable[str]) -> dict[str, Product]:
    wanted = list(set(skus))
    if not wanted:
        return {}
    rows = session.scalars(sa.select(Product).where(Product.sku.in_(wanted)))
    return {p.sku: p for p in rows}


def products_by_id(session: Session, ids: Iterable[int]) -> dict[int, Product]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(sa.select(Product).where(Product.id.in_(wanted)))}


def vat_included(gross_minor: int, vat_percent: int) -> int:
    """The VAT inside a VAT-inclusive amount, rounded half up to whole öre."""
    denominator = 100 + vat_percent
    return (2 * gross_minor * vat_percent + denominator) // (2 * denominator)


@dataclass(frozen=True)
class PricedLine:
    """A product and a quantity, priced from the database (never from the caller)."""

    product_id: int
    sku: str
    name: str
    image: str
    stock: int
    quantity: int
    unit_price_minor: int
    vat_percent: int

    @property
    def total_minor(self) -> int:
        return self.unit_price_minor * self.quantity

    @property
    def vat_minor(self) -> int:
        """The VAT of the line total (rounded per line, as on the order)."""
        return vat_included(self.total_minor, self.vat_percent)


@dataclass(frozen=True)
class PricedCart:
    lines: tuple[PricedLine, ...]

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def vat_minor(self) -> int:
        return sum(line.vat_minor for line in self.lines)

    @property
    def fingerprint(self) -> str:
        """Same products, quantities and prices ⇔ same fingerprint."""
        text = ";".join(
            f"{li.product_id}:{li.quantity}:{li.unit_price_minor}:{li.vat_percent}"
            for li in self.lines
        )
        return hashlib.sha256(text.encode()).hexdigest()


def price(lines: Iterable[tuple[Product, int]]) -> PricedCart:
    """Price ``(product, quantity)`` lines, in the given order, at today's prices."""
    return PricedCart(
        tuple(
            PricedLine(
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                image=product.image,
                stock=product.stock,
                quantity=quantity,
                unit_price_minor=product.price_minor,
                vat_percent=product.vat_percent,
            )
            for product, quantity in lines
        )
    )


def seed_catalogue(session: Session, products: Sequence[dict[str, Any]] = DEMO_PRODUCTS) -> int:
    """Insert the demo products that do not exist yet (by SKU); returns how many.

    Existing products are never changed, so stock sold in the demo stays sold.
    """
    with write_transaction(session):
        existing = set(session.scalars(sa.select(Product.sku)))
        added = 0
        for data in products:
            if data["sku"] not in existing:
                session.add(Product(image=f"{data['sku'].lower()}.svg", **data))
                added += 1
    return added
