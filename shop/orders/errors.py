"""Errors the order services raise for the web layer; messages are safe to show."""

from __future__ import annotations

from collections.abc import Sequence


class CheckoutError(Exception):
    """The checkout cannot start; ``str(exc)`` is a message for the customer."""


class EmptyCart(CheckoutError):
    def __init__(self) -> None:
        super().__init__("Your cart is empty.")


class InvalidCart(CheckoutError):
    """A product that does not exist, or a quantity that is not a positive integer."""


class OutOfStock(CheckoutError):
    def __init__(self, skus: Sequence[str]) -> None:
        self.skus = list(skus)
        super().__init__("Not enough in stock: " + ", ".join(self.skus) + ".")


class CheckoutUnavailable(CheckoutError):
    """Avarda could not start or update the purchase; try again later."""

    def __init__(
        self, message: str = "Payment is unavailable right now. Please try again."
    ) -> None:
        super().__init__(message)
