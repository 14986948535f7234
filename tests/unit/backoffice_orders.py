"""Orders made straight in the database for the back office's tests, at a fixed ``NOW``
with the attention rules they are judged by, and the visible text of a page. Plain
functions, used inside the ``shop`` fixture's app context."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from shop.catalog import get_product_by_sku
from shop.extensions import db
from shop.models import Order, OrderLine
from shop.orders.backoffice import Attention, AttentionRules, order_detail

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RULES = AttentionRules(now=NOW, pending_age=timedelta(minutes=2), undelivered_age=timedelta(days=3))
_numbers = count(1)


def make_order(
    state: str = "paid",
    age: timedelta = timedelta(hours=1),
    email: str | None = None,
    first: str | None = None,
    last: str | None = None,
    **values: Any,
) -> Order:
    """An order in ``state`` created ``age`` before ``NOW``, with one mug; ``values`` set
    any other column. Numbers and purchase ids are unique in the test process."""
    n = next(_numbers)
    created = NOW - age
    paid = state not in ("pending", "failed")
    mug = get_product_by_sku(db.session(), "MUG-01")
    order = Order(
        number=values.pop("number", f"260601-{n:08X}"),
        state=state,
        total_minor=14900,
        vat_minor=2980,
        cart_fingerprint="f",
        purchase_id=values.pop("purchase_id", f"{n:032x}"),
        customer_email=email,
        customer_first_name=first,
        customer_last_name=last,
        confirmed_by=values.pop("confirmed_by", "callback" if paid else None),
        confirmed_at=created + timedelta(seconds=30) if paid else None,
        avarda_price_minor=14900 if paid else None,
        created_at=created,
        lines=[
            OrderLine(
                product_id=mug.id, sku=mug.sku, name=mug.name, quantity=1,
                unit_price_minor=14900, vat_percent=25, line_total_minor=14900, vat_minor=2980,
            )
        ],
        **values,
    )  # fmt: skip
    db.session.add(order)
    db.session.commit()
    return order


def reasons_of(order: Order) -> set[Attention]:
    """Why the back office says ``order`` needs attention, judged by ``RULES``."""
    detail = order_detail(db.session(), order.number, RULES)
    assert detail is not None
    return set(detail.reasons)


def text(response) -> str:
    """A page's text as a reader sees it: no tags, entities decoded, spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(body)).strip()
