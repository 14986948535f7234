"""A cart change sent to Avarda while the old cart may be being paid in another tab.

UpdateItems replaces the items of a purchase that is still in the form. The customer
may meanwhile complete that purchase in another tab, and the shop cannot tell from
GetPaymentStatus which items Avarda charged (it reports the price, not the items). So
the change is written down *before* UpdateItems is sent (``Order.cart_in_flight``)
and settled afterwards:

- UpdateItems applied: the order's lines become the new cart, the note is removed;
- refused, or never sent: the note is removed, the order keeps its lines;
- outcome unknown (a timeout): the note stays; this purchase is not updated again
  with another cart, so at most two carts are candidates.

The confirm step settles a note it finds on a Completed purchase by Avarda's price
(:func:`settle_by_price`): the order is paid with the lines whose total Avarda charged,
and held for review when both carts have that total.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..catalog import PricedCart
from ..models import Order, OrderLine


@dataclass(frozen=True)
class LineSnapshot:
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price_minor: int
    vat_percent: int
    line_total_minor: int
    vat_minor: int


@dataclass(frozen=True)
class CartSnapshot:
    """One cart as sent to Avarda: its lines, totals and fingerprint."""

    fingerprint: str
    total_minor: int
    vat_minor: int
    lines: tuple[LineSnapshot, ...]

    @classmethod
    def of(cls, cart: PricedCart) -> CartSnapshot:
        return cls(
            fingerprint=cart.fingerprint,
            total_minor=cart.total_minor,
            vat_minor=cart.vat_minor,
            lines=tuple(
                LineSnapshot(
                    product_id=li.product_id,
                    sku=li.sku,
                    name=li.name,
                    quantity=li.quantity,
                    unit_price_minor=li.unit_price_minor,
                    vat_percent=li.vat_percent,
                    line_total_minor=li.total_minor,
                    vat_minor=li.vat_minor,
                )
                for li in cart.lines
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "total_minor": self.total_minor,
            "vat_minor": self.vat_minor,
            "lines": [asdict(line) for line in self.lines],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CartSnapshot:
        return cls(
            fingerprint=str(data["fingerprint"]),
            total_minor=int(data["total_minor"]),
            vat_minor=int(data["vat_minor"]),
            lines=tuple(LineSnapshot(**line) for line in data["lines"]),
        )

    def order_lines(self) -> list[OrderLine]:
        return [OrderLine(**asdict(line)) for line in self.lines]

    def apply_to(self, order: Order) -> None:
        """Make this cart the order's lines and totals."""
        order.lines = self.order_lines()
        order.total_minor = self.total_minor
        order.vat_minor = self.vat_minor
        order.cart_fingerprint = self.fingerprint


def in_flight(order: Order) -> CartSnapshot | None:
    return None if order.cart_in_flight is None else CartSnapshot.from_json(order.cart_in_flight)


def settle_by_price(order: Order, charged_minor: int | None) -> str:
    """Under the order's lock, for a Completed purchase: make the order's lines the cart
    Avarda charged. Returns a hold reason when that cannot be told, else ""."""
    sent = in_flight(order)
    if sent is None:
        return ""
    if sent.fingerprint == order.cart_fingerprint:
        order.cart_in_flight = None
        return ""
    old_matches = charged_minor == order.total_minor
    new_matches = charged_minor == sent.total_minor
    if old_matches and new_matches:
        return (
            "The cart was changed while the payment was being made, and both carts total "
            f"{order.total_minor / 100:.2f} {order.currency}: check with the customer which "
            "items they paid for."
        )
    if new_matches:
        sent.apply_to(order)
    order.cart_in_flight = None
    return ""
