"""Purchases: the checkout life cycle (create, update, complete, external steps, timeout).

Each public function is one transaction. Purchases are loaded ``FOR UPDATE`` (a row lock
on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so state changes
are decided on fresh data. Timeouts are evaluated lazily, whenever a purchase is loaded,
and in bulk by :func:`expire_stale` (the worker calls it): no timer process is needed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from sandbox import delivery
from sandbox.db import db, transaction, utcnow
from sandbox.errors import NotFoundError, StateError, ValidationError
from sandbox.models import (
    IN_CHECKOUT,
    TIMES_OUT,
    Merchant,
    Method,
    Purchase,
    PurchaseItem,
    State,
    StateChange,
)
from sandbox.validation import CUSTOMER_FIELDS, parse_customer

#: Payment method names used by the form and the scripted customer.
METHODS = {
    "Invoice": Method.INVOICE,
    "Card": Method.CARD,
    "DirectPayment": Method.DIRECT_PAYMENT,
}
FAIL = "Fail"
DEAD = frozenset({State.ERROR, State.SESSION_TIMED_OUT, State.CANCELLED})
EXTERNAL_STATE = {
    Method.CARD: State.WAITING_FOR_CARD_PAYMENTS,
    Method.DIRECT_PAYMENT: State.WAITING_FOR_FINNISH_DIRECT_PAYMENT,
}

#: The editable customer the form and the scripted customer start from.
DEMO_CUSTOMER = {
    "mail": "anna.andersson@example.com",
    "phone": "0701234567",
    "invoicing_first_name": "Anna",
    "invoicing_last_name": "Andersson",
    "invoicing_address_line1": "Storgatan 1",
    "invoicing_address_line2": None,
    "invoicing_zip": "11122",
    "invoicing_city": "Stockholm",
}


@dataclass(frozen=True)
class Outcome:
    """What the browser should do next after a completion step."""

    purchase_id: str
    state: State
    action: str  # "completed" | "redirect" | "failed" | "waiting"
    redirect_url: str | None = None
    message: str | None = None


def new_purchase_id() -> str:
    return secrets.token_hex(16)


def _transition(purchase: Purchase, to: State, note: str | None = None) -> None:
    purchase.history.append(
        StateChange(from_state=purchase.state, to_state=int(to), note=note, at=utcnow())
    )
    purchase.state = int(to)


def _expire_if_due(purchase: Purchase, now: datetime) -> bool:
    if purchase.state in TIMES_OUT and purchase.expires_at <= now:
        _transition(purchase, State.SESSION_TIMED_OUT, "Left too long in the checkout")
        return True
    return False


def _touch(purchase: Purchase, now: datetime) -> None:
    purchase.expires_at = now + timedelta(seconds=purchase.merchant.purchase_timeout_seconds)


def load(purchase_id: Any, merchant_id: int | None = None, lock: bool = True) -> Purchase:
    """The purchase (of this merchant, when given), timed out if due; else NotFoundError."""
    if not isinstance(purchase_id, str) or not purchase_id:
        raise NotFoundError("Invalid or missing PurchaseId.")
    query = sa.select(Purchase).where(Purchase.id == purchase_id.lower())
    if merchant_id is not None:
        query = query.where(Purchase.merchant_id == merchant_id)
    if lock:
        query = query.with_for_update()
    purchase = db.session.scalar(query)
    if purchase is None:
        raise NotFoundError("Invalid or missing PurchaseId.")
    _expire_if_due(purchase, utcnow())
    return purchase


def _set_items(purchase: Purchase, items: list[dict[str, Any]]) -> None:
    purchase.items = [PurchaseItem(position=i, **item) for i, item in enumerate(items)]


def initialize(merchant: Merchant, clean: Mapping[str, Any]) -> str:
    """Create a purchase in state New from validated InitializePayment fields."""
    now = utcnow()
    fields = {k: v for k, v in clean.items() if k != "items"}
    with transaction():
        purchase = Purchase(id=new_purchase_id(), merchant=merchant, state=int(State.NEW), **fields)
        purchase.created_at = now
        _touch(purchase, now)
        _set_items(purchase, clean["items"])
        purchase.history.append(StateChange(from_state=None, to_state=int(State.NEW), at=now))
        db.session.add(purchase)
        purchase_id = purchase.id
    return purchase_id


def update_items(
    merchant: Merchant, purchase_id: str, price: Decimal, items: list[dict[str, Any]]
) -> None:
    """Replace the cart; only while the customer is still in the form (New/BeingProcessed)."""
    with transaction():
        purchase = load(purchase_id, merchant.id)
        if purchase.state not in IN_CHECKOUT:
            raise StateError(
                f"Items cannot be updated in state {purchase.state_name} ({purchase.state})."
            )
        purchase.price = price
        _set_items(purchase, items)
        _touch(purchase, utcnow())


def get_status(purchase_id: Any, merchant_id: int | None = None) -> dict[str, Any]:
    """GetPaymentStatus's body (a lazy timeout is committed first, so reads are honest)."""
    with transaction():
        purchase = load(purchase_id, merchant_id)
        result = status_json(purchase)
    return result


def get_purchase(purchase_id: Any) -> Purchase:
    """A purchase for display, after a lazy timeout has been committed.

    The returned object stays usable in the current session (attributes reload).
    """
    with transaction():
        purchase = load(purchase_id)
    return purchase


def completed_queue(
    merchant: Merchant,
    after_purchase_id: str | None,
    start: datetime | None,
    offset: int,
    page_size: int,
) -> list[str]:
    """Ids of this merchant's purchases completed after a purchase or a time, oldest first."""
    query = sa.select(Purchase.id).where(
        Purchase.merchant_id == merchant.id, Purchase.completed_at.is_not(None)
    )
    if after_purchase_id is not None:
        anchor = db.session.scalar(
            sa.select(Purchase).where(
                Purchase.id == after_purchase_id.lower(), Purchase.merchant_id == merchant.id
            )
        )
        if anchor is None:
            raise NotFoundError("Invalid PurchaseId.")
        if anchor.completed_at is None:
            raise StateError("The purchase given as PurchaseId is not completed.")
        query = query.where(
            sa.tuple_(Purchase.completed_at, Purchase.id) > (anchor.completed_at, anchor.id)
        )
    elif start is not None:
        query = query.where(Purchase.completed_at > start)
    query = query.order_by(Purchase.completed_at, Purchase.id).offset(offset).limit(page_size)
    ids = list(db.session.scalars(query))
    db.session.commit()
    return ids


def open_form(
    purchase_id: str, callback_url: str | None, completed_callback_url: str | None
) -> Purchase:
    """The customer's browser shows the form: New -> BeingProcessed, remember the URLs."""
    with transaction():
        purchase = load(purchase_id)
        if callback_url:
            purchase.callback_url = callback_url
        if completed_callback_url:
            purchase.purchase_completed_callback_url = completed_callback_url
        if purchase.state in IN_CHECKOUT:
            if purchase.state == State.NEW:
                _transition(purchase, State.BEING_PROCESSED, "Checkout form shown")
            _touch(purchase, utcnow())
    return purchase


def _finish(purchase: Purchase, note: str) -> None:
    """Completed, and the server callback rows, in the caller's transaction."""
    now = utcnow()
    _transition(purchase, State.COMPLETED, note)
    purchase.completed_at = now
    merchant = purchase.merchant
    if merchant.callback_enabled and purchase.purchase_completed_callback_url:
        delivery.create_deliveries(purchase, merchant, now)


def complete(
    purchase_id: str,
    method: str,
    customer: Mapping[str, Any] | None = None,
    completed_callback_url: str | None = None,
    callback_url: str | None = None,
    scripted: bool = False,
    external_url: Any = None,
) -> Outcome:
    """The customer presses **Complete purchase** (or the scripted customer does).

    Invoice completes at once. Card and DirectPayment enter their waiting state and the
    browser is sent to ``external_url(purchase_id, method)``; the scripted customer
    passes straight through the waiting state to Completed. "Fail" ends in Error.
    Completing an already completed purchase changes nothing (no second callback).
    Everything, including the callback delivery rows, is one transaction.
    """
    if method != FAIL and method not in METHODS:
        raise ValidationError(
            ['PaymentMethod must be "Invoice", "Card", "DirectPayment" or "Fail".']
        )
    errors: list[str] = []
    fields = parse_customer(customer or {}, errors)
    if errors:
        raise ValidationError(errors)
    with transaction():
        purchase = load(purchase_id)
        if purchase.state == State.COMPLETED:
            return Outcome(purchase.id, State.COMPLETED, "completed")
        if purchase.state not in IN_CHECKOUT:
            raise StateError(dead_message(purchase))
        if completed_callback_url:
            purchase.purchase_completed_callback_url = completed_callback_url
        if callback_url:
            purchase.callback_url = callback_url
        for column, value in fields.items():
            setattr(purchase, column, value)
        for column, value in DEMO_CUSTOMER.items():
            if column not in fields and getattr(purchase, column) is None:
                setattr(purchase, column, value)
        if any(column.startswith("delivery_") for column in fields):
            purchase.use_different_delivery_address = any(
                value for column, value in fields.items() if column.startswith("delivery_")
            )
        if purchase.state == State.NEW:
            _transition(purchase, State.BEING_PROCESSED, "Checkout started")
        if method == FAIL:
            purchase.status_message = "The payment failed."
            _transition(purchase, State.ERROR, "Customer chose Fail payment")
            return Outcome(purchase.id, State.ERROR, "failed", message=purchase.status_message)
        chosen = METHODS[method]
        purchase.payment_method = int(chosen)
        if chosen == Method.INVOICE:
            _finish(purchase, "Invoice accepted")
            return Outcome(purchase.id, State.COMPLETED, "completed")
        waiting = EXTERNAL_STATE[chosen]
        _transition(purchase, waiting, f"Sent to the {_step_name(chosen)}")
        purchase.external_approved = None
        _touch(purchase, utcnow())
        if scripted:
            purchase.external_approved = True
            _finish(purchase, f"Approved by the {_step_name(chosen)} (scripted)")
            return Outcome(purchase.id, State.COMPLETED, "completed")
        url = external_url(purchase.id, chosen) if external_url else None
        return Outcome(purchase.id, waiting, "redirect", redirect_url=url)


def _step_name(method: Method) -> str:
    return "card issuer" if method == Method.CARD else "bank"


def dead_message(purchase: Purchase) -> str:
    state = State(purchase.state)
    if state == State.ERROR:
        return purchase.status_message or "The payment failed."
    if state == State.SESSION_TIMED_OUT:
        return "The checkout session timed out."
    if state == State.CANCELLED:
        return "The purchase was cancelled."
    if state in EXTERNAL_STATE.values():
        return "The purchase is waiting for an external payment step."
    return f"The purchase cannot be completed in state {state.name}."


def resolve_external(purchase_id: str, method: Method, approved: bool) -> Purchase:
    """The card issuer's or bank's verdict. Approval waits for the shop's page to call
    ``init`` again (:func:`resume`); a decline ends the purchase in Error at once."""
    with transaction():
        purchase = load(purchase_id)
        if purchase.state != EXTERNAL_STATE[method] or purchase.external_approved is not None:
            raise StateError(
                dead_message(purchase)
                if purchase.state != EXTERNAL_STATE[method]
                else "This payment step was already answered."
            )
        if approved:
            purchase.external_approved = True
            purchase.history.append(
                StateChange(
                    from_state=purchase.state,
                    to_state=purchase.state,
                    note=f"Approved at the {_step_name(method)}",
                    at=utcnow(),
                )
            )
        else:
            purchase.external_approved = False
            purchase.status_message = (
                "The card payment was declined."
                if method == Method.CARD
                else "The bank payment was declined."
            )
            _transition(purchase, State.ERROR, f"Declined at the {_step_name(method)}")
    return purchase


def resume(purchase_id: str) -> Outcome:
    """The shop's page called ``init`` again after the external step: finish if approved."""
    with transaction():
        purchase = load(purchase_id)
        state = State(purchase.state)
        if state == State.COMPLETED:
            return Outcome(purchase.id, state, "completed")
        if state in EXTERNAL_STATE.values():
            if purchase.external_approved:
                method = Method(purchase.payment_method)
                _finish(purchase, f"Customer back from the {_step_name(method)}")
                return Outcome(purchase.id, State.COMPLETED, "completed")
            return Outcome(
                purchase.id, state, "waiting", message="The payment is not approved yet."
            )
        if state in IN_CHECKOUT:
            return Outcome(purchase.id, state, "form")
        return Outcome(purchase.id, state, "failed", message=dead_message(purchase))


def cancel(purchase: Purchase, reason: str | None) -> None:
    """CancelPayment's state change, in the caller's transaction (rules in commerce.py)."""
    _transition(
        purchase, State.CANCELLED, f"Cancelled by the merchant: {reason or 'no reason'}"[:200]
    )


def expire_stale(limit: int = 500) -> int:
    """Time out every purchase left too long; returns how many. Safe to run concurrently."""
    now = utcnow()
    with transaction():
        purchases = db.session.scalars(
            sa.select(Purchase)
            .where(Purchase.state.in_([int(s) for s in TIMES_OUT]), Purchase.expires_at <= now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        count = sum(_expire_if_due(p, now) for p in purchases)
    return count


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def status_json(purchase: Purchase) -> dict[str, Any]:
    """GetPaymentStatus's shape. Delivery* fields are null without a separate address."""
    body: dict[str, Any] = {
        "PurchaseId": purchase.id,
        "State": purchase.state,
        "PaymentMethod": purchase.payment_method,
        "Price": purchase.price,
        "Completed": iso(purchase.completed_at),
        "OrderReference": purchase.order_reference,
        "Mail": purchase.mail,
        "Phone": purchase.phone,
        "CountryCode": purchase.country_code or "SE",
        "CustomerToken": purchase.customer_token,
    }
    separate = purchase.use_different_delivery_address
    for wire, (column, _limit) in CUSTOMER_FIELDS.items():
        if wire.startswith("Invoicing"):
            body[wire] = getattr(purchase, column)
        elif wire.startswith("Delivery"):
            body[wire] = getattr(purchase, column) if separate else None
    return body


def admin_json(purchase: Purchase) -> dict[str, Any]:
    """The admin API's view: status plus amounts, items, history and deliveries."""
    body = status_json(purchase)
    body.update(
        {
            "SiteCode": purchase.merchant.site_code,
            "StateName": purchase.state_name,
            "PurchaseCompletedCallbackUrl": purchase.purchase_completed_callback_url,
            "CallbackUrl": purchase.callback_url,
            "StatusMessage": purchase.status_message,
            "Created": iso(purchase.created_at),
            "Expires": iso(purchase.expires_at),
            "DeliveredAmount": purchase.delivered_amount,
            "ReturnedAmount": purchase.returned_amount,
            "RefundedAmount": purchase.refunded_amount,
            "ReleasedAmount": purchase.released_amount,
            "Items": [item.as_json() for item in purchase.items],
            "history": [
                {
                    "at": iso(change.at),
                    "from": change.from_state,
                    "to": change.to_state,
                    "note": change.note,
                }
                for change in purchase.history
            ],
            "transactions": [
                {
                    "kind": t.kind,
                    "tran_id": t.tran_id,
                    "amount": t.amount,
                    "at": iso(t.created_at),
                }
                for t in purchase.transactions
            ],
            "deliveries": [delivery.delivery_json(d) for d in purchase.deliveries],
        }
    )
    return body
