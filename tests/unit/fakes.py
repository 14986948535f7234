"""A fake Avarda for unit tests of the services: purchases in a dict, no HTTP."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Flask

from shop.avarda import (
    AvardaCheckoutRefused,
    AvardaTimeout,
    AvardaUnavailable,
    InitializePayment,
    Item,
    PaymentStatus,
    PurchaseState,
)
from tests.harness import make_shop_app

DEMO_CUSTOMER = {
    "Mail": "anna@example.com",
    "Phone": "0701234567",
    "InvoicingFirstName": "Anna",
    "InvoicingLastName": "Andersson",
    "InvoicingAddressLine1": "Storgatan 1",
    "InvoicingZip": "11122",
    "InvoicingCity": "Stockholm",
    "CountryCode": "SE",
}


class FakeAvarda:
    """Enough of ``AvardaClient`` for the services. Thread-safe (tests race it)."""

    def __init__(self) -> None:
        self.purchases: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.status_error: Exception | None = None
        self.init_error: Exception | None = None
        #: UpdateItems: raise this instead (after applying it when ``update_applied``).
        self.update_error: Exception | None = None
        self.update_applied = False
        #: Runs inside UpdateItems, before it is applied: the customer acting in another tab.
        self.during_update: Callable[[str], None] | None = None
        self._lock = threading.Lock()

    def _log(self, name: str, arg: Any) -> None:
        with self._lock:
            self.calls.append((name, arg))

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)

    def initialize_payment(self, request: InitializePayment) -> str:
        order_reference = request.order_reference
        price = request.price
        self._log("InitializePayment", order_reference)
        if self.init_error:
            raise self.init_error
        purchase_id = uuid.uuid4().hex
        self.purchases[purchase_id] = {
            "PurchaseId": purchase_id,
            "State": PurchaseState.NEW.value,
            "PaymentMethod": None,
            "Price": price,
            "OrderReference": order_reference,
            "Completed": None,
        }
        return purchase_id

    def update_items(
        self, purchase_id: str, *, price: Decimal, items: list[Item], order_reference: str
    ) -> None:
        self._log("UpdateItems", purchase_id)
        if self.during_update is not None:
            self.during_update(purchase_id)
        purchase = self.purchases[purchase_id]
        if self.update_error is not None and not self.update_applied:
            raise self.update_error
        if purchase["State"] not in (0, 1):
            raise AvardaCheckoutRefused("UpdateItems: refused", 1, ["Purchase is not editable"])
        purchase["Price"] = price
        purchase["OrderReference"] = order_reference
        purchase["Items"] = [item.description for item in items]
        if self.update_error is not None:
            raise self.update_error

    def get_payment_status(self, purchase_id: str, timeout: float | None = None) -> PaymentStatus:
        self._log("GetPaymentStatus", purchase_id)
        if self.status_error:
            raise self.status_error
        return PaymentStatus.from_wire(self.purchases[purchase_id])

    def get_payment_status_queue(self, **kwargs: Any) -> list[str]:
        self._log("GetPaymentStatusQueue", kwargs)
        if self.status_error:
            raise self.status_error
        if kwargs.get("offset"):
            return []
        return [p for p, data in self.purchases.items() if data["State"] == 2]

    # -- what the customer does ----------------------------------------------------------
    def set_state(self, purchase_id: str, state: int, **fields: Any) -> None:
        self.purchases[purchase_id].update(State=state, **fields)

    def complete(self, purchase_id: str, method: int = 0, price: Decimal | None = None) -> None:
        purchase = self.purchases[purchase_id]
        purchase.update(DEMO_CUSTOMER)
        purchase.update(State=2, PaymentMethod=method, Completed="2026-11-24T12:03:07")
        if price is not None:
            purchase["Price"] = price


def unavailable() -> AvardaUnavailable:
    return AvardaTimeout("GetPaymentStatus: Avarda did not answer in time")


def make_app(database_url: str, **overrides: Any) -> tuple[Flask, FakeAvarda]:
    """A migrated, seeded shop on ``database_url`` whose Avarda is a :class:`FakeAvarda`."""
    from shop.extensions import set_avarda_client

    app = make_shop_app(database_url, **overrides)
    fake = FakeAvarda()
    set_avarda_client(app, fake)
    return app, fake
