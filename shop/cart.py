"""The shopping cart, kept in the signed session cookie.

The cart stores only SKUs and quantities, never prices: prices and stock are read
from the database whenever the cart is shown or checked out, so a price change
can never be smuggled in through an old cookie. The session is signed, not
encrypted, and may still hold data written by an older version of this module,
so everything read back from it is validated again and bad entries are dropped.

The same session also remembers the public token of the customer's current
checkout order, so that going back to the checkout reuses that order while the
cart is unchanged (the services decide that by comparing the cart's lines).
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from shop.catalog import MAX_QUANTITY

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class CartError(ValueError):
    """A request to change the cart that makes no sense (bad SKU or quantity).

    The message is safe to show to the customer.
    """


@dataclass(frozen=True, slots=True)
class CartLine:
    """One line of the cart: a SKU and how many of it."""

    sku: str
    quantity: int


def parse_quantity(raw: object, *, allow_zero: bool = False) -> int:
    """Turn a form value into a quantity, or raise :class:`CartError`.

    Accepts ints and decimal digit strings only (no floats, no signs, no
    thousands separators); zero is allowed only where it means "remove".
    """
    if isinstance(raw, bool):
        raise CartError("Quantity must be a whole number.")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        value = int(raw.strip())
    else:
        raise CartError("Quantity must be a whole number.")
    low = 0 if allow_zero else 1
    if value < low:
        raise CartError(f"Quantity must be at least {low}.")
    if value > Cart.MAX_QUANTITY:
        raise CartError(f"You can buy at most {Cart.MAX_QUANTITY} of one product.")
    return value


def valid_sku(sku: object) -> bool:
    return isinstance(sku, str) and SKU_PATTERN.fullmatch(sku) is not None


class Cart:
    """A typed view over the session's cart.

    ``Cart(session)`` works with Flask's ``session`` or any mutable mapping (the
    unit tests use a dict). Lines keep the order in which products were first
    added; the session stores them as a list of ``[sku, quantity]`` pairs because
    Flask serialises session dicts with sorted keys.

    Caveat: the cart does not know whether a SKU exists or is in stock; the view
    checks the catalogue before calling :meth:`add`, and checkout checks stock.
    """

    KEY = "cart"
    TOKEN_KEY = "order_token"
    MAX_QUANTITY = MAX_QUANTITY
    MAX_LINES = 30

    def __init__(self, session: MutableMapping[str, Any]) -> None:
        self._session = session

    # -- reading -----------------------------------------------------------

    def _load(self) -> list[list[Any]]:
        raw = self._session.get(self.KEY)
        lines: list[list[Any]] = []
        seen: set[str] = set()
        if not isinstance(raw, list):
            return lines
        for item in raw:
            if not (isinstance(item, list | tuple) and len(item) == 2):
                continue
            sku, qty = item
            if not valid_sku(sku) or sku in seen:
                continue
            if isinstance(qty, bool) or not isinstance(qty, int):
                continue
            if not 1 <= qty <= self.MAX_QUANTITY:
                continue
            seen.add(sku)
            lines.append([sku, qty])
            if len(lines) >= self.MAX_LINES:
                break
        return lines

    def _save(self, lines: list[list[Any]]) -> None:
        if lines:
            self._session[self.KEY] = lines
        else:
            self._session.pop(self.KEY, None)
        # Flask only notices assignments, not changes inside stored lists.
        if hasattr(self._session, "modified"):
            self._session.modified = True

    def lines(self) -> list[CartLine]:
        """The cart's lines, in the order they were first added."""
        return [CartLine(sku, qty) for sku, qty in self._load()]

    def quantity(self, sku: str) -> int:
        """How many of ``sku`` are in the cart (0 if none)."""
        for line_sku, qty in self._load():
            if line_sku == sku:
                return int(qty)
        return 0

    def count(self) -> int:
        """Total number of items (for the header badge)."""
        return sum(qty for _, qty in self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __bool__(self) -> bool:
        return bool(self._load())

    # -- changing ------------------------------------------------------------

    def add(self, sku: str, quantity: int = 1) -> int:
        """Add ``quantity`` of ``sku``; returns the line's new quantity.

        The line is capped at :attr:`MAX_QUANTITY`; a new SKU beyond
        :attr:`MAX_LINES` raises :class:`CartError` and changes nothing.
        """
        if not valid_sku(sku):
            raise CartError("Unknown product.")
        quantity = parse_quantity(quantity)
        lines = self._load()
        for line in lines:
            if line[0] == sku:
                new = min(int(line[1]) + quantity, self.MAX_QUANTITY)
                line[1] = new
                self._save(lines)
                return new
        if len(lines) >= self.MAX_LINES:
            raise CartError(f"A cart holds at most {self.MAX_LINES} different products.")
        lines.append([sku, quantity])
        self._save(lines)
        return quantity

    def set_quantity(self, sku: str, quantity: int) -> None:
        """Set the quantity of a line already in the cart; 0 removes it.

        Setting a SKU that is not in the cart raises :class:`CartError`: the
        form only offers lines that are there, so anything else is a stale page.
        """
        quantity = parse_quantity(quantity, allow_zero=True)
        lines = self._load()
        for index, line in enumerate(lines):
            if line[0] == sku:
                if quantity == 0:
                    del lines[index]
                else:
                    line[1] = quantity
                self._save(lines)
                return
        raise CartError("That product is no longer in your cart.")

    def remove(self, sku: str) -> bool:
        """Remove a line; True if it was there."""
        lines = self._load()
        kept = [line for line in lines if line[0] != sku]
        self._save(kept)
        return len(kept) != len(lines)

    def clear(self) -> None:
        """Empty the cart and forget the checkout order (after a paid order)."""
        self._session.pop(self.KEY, None)
        self._session.pop(self.TOKEN_KEY, None)
        if hasattr(self._session, "modified"):
            self._session.modified = True

    # -- the checkout order this cart belongs to ---------------------------------

    @property
    def order_token(self) -> str | None:
        """Public token of the order started from this cart, if any."""
        token = self._session.get(self.TOKEN_KEY)
        return token if isinstance(token, str) and token else None

    @order_token.setter
    def order_token(self, token: str | None) -> None:
        if token:
            self._session[self.TOKEN_KEY] = token
        else:
            self._session.pop(self.TOKEN_KEY, None)
