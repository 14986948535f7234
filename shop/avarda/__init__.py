"""Avarda Checkout 2.0: a typed client and the protocol's vocabulary.

Knows nothing about Flask or the shop's orders (an import-linter contract checks it).
"""

from shop.avarda.client import (
    AvardaAuthError,
    AvardaClient,
    AvardaError,
    AvardaProtocolError,
    AvardaRefused,
    AvardaUnavailable,
)
from shop.avarda.protocol import (
    PURCHASE_ID,
    Customer,
    Item,
    PaymentMethod,
    PaymentStatus,
    PurchaseState,
    decimal_to_minor,
    minor_to_decimal,
    payment_method_label,
)

__all__ = [
    "PURCHASE_ID",
    "AvardaAuthError",
    "AvardaClient",
    "AvardaError",
    "AvardaProtocolError",
    "AvardaRefused",
    "AvardaUnavailable",
    "Customer",
    "Item",
    "PaymentMethod",
    "PaymentStatus",
    "PurchaseState",
    "decimal_to_minor",
    "minor_to_decimal",
    "payment_method_label",
]
