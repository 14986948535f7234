"""Purchases: the checkout life cycle (create, update, complete, external steps, timeout).

Each public function is one transaction. Purchases are loaded ``FOR UPDATE`` (a row lock
on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), so state changes
are decided on fresh data. Timeouts are evaluated lazily, whenever a purchase is loaded,
and in bulk by :func:`expire_stale` (the worker calls it): no timer process is needed.

Payment methods and their steps **(sandbox choice** where Avarda does not say which method
waits in which state): Invoice completes at once; Card waits for 3-D Secure at the card
issuer (state 6), DirectPayment at a Finnish bank (9), Loan for the agreement signed with
an e-ID at Signicat (4), PartPayment for the BankID app (7). At the step the customer may
approve (the purchase completes once the shop's page calls ``init`` again through
``callbackUrl``), decline (back to the form to choose another method: no result yet) or
fail (the purchase ends in Error: a result, so the browser's ``done`` follows).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic.alias_generators import to_pascal

from sandbox import delivery, merchants, wire
from sandbox.db import db, transaction, utcnow
from sandbox.errors import FieldErrors, ForbiddenError, NotFoundError, StateError
from sandbox.models import (
    IN_CHECKOUT,
    TIMES_OUT,
    WAITING,
    Merchant,
    Method,
    Purchase,
    PurchaseItem,
    State,
    StateChange,
)

#: The form's payment method names (and the admin API's); "Fail" is the sandbox's fault.
METHODS = {
    "Invoice": Method.INVOICE,
    "Loan": Method.LOAN,
    "PartPayment": Method.PART_PAYMENT,
    "Card": Method.CARD,
    "DirectPayment": Method.DIRECT_PAYMENT,
}
FAIL = "Fail"
DEAD = frozenset({State.ERROR, State.SESSION_TIMED_OUT, State.CANCELLED})
#: States in which the customer is done with the form: the browser's ``done`` follows.
FINISHED = DEAD | {State.COMPLETED}


@dataclass(frozen=True)
class Step:
    """An external step: where the browser goes and what the purchase waits in."""

    state: State
    place: str  # "the card issuer"
    what: str  # "card payment"


STEPS: dict[Method, Step] = {
    Method.CARD: Step(State.WAITING_FOR_CARD_PAYMENTS, "the card issuer", "card payment"),
    Method.DIRECT_PAYMENT: Step(
        State.WAITING_FOR_FINNISH_DIRECT_PAYMENT, "the bank", "bank payment"
    ),
    Method.LOAN: Step(State.WAITING_FOR_SIGNICAT, "Signicat", "e-ID signature"),
    Method.PART_PAYMENT: Step(State.WAITING_FOR_BANK_ID, "BankID", "BankID identification"),
}
METHOD_WAITING_IN: dict[State, Method] = {step.state: method for method, step in STEPS.items()}
assert set(METHOD_WAITING_IN) == WAITING

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
#: What the checkout form requires of every customer **(sandbox choice**: Avarda's form
#: asks for contact details and an address; exactly which fields it enforces is not
#: published): e-mail and phone, and a whole invoicing address (line 2 is optional), and a
#: whole delivery address when the goods go elsewhere.
ADDRESS_REQUIRED = ("first_name", "last_name", "address_line1", "zip", "city")
FORM_REQUIRED = ("mail", "phone", *(f"invoicing_{part}" for part in ADDRESS_REQUIRED))
DELIVERY_REQUIRED = tuple(f"delivery_{part}" for part in ADDRESS_REQUIRED)
CUSTOMER_COLUMNS = tuple(
    name for name in wire.Customer.model_fields if name != "use_different_delivery_address"
)
DELIVERY_COLUMNS = tuple(name for name in CUSTOMER_COLUMNS if name.startswith("delivery_"))


@dataclass(frozen=True)
class Outcome:
    """What the browser should do next after a completion step."""

    purchase_id: str
    state: State
    action: str  # "completed" | "failed" | "redirect" | "waiting" | "form"
    redirect_url: str | None = None
    message: str | None = None


def new_purchase_id() -> str:
    return secrets.token_hex(16)


def _transition(purchase: Purchase, to: State, note: str | None = None) -> None:
    purchase.history.append(
        StateChange(from_state=purchase.state, to_state=int(to), note=note, at=utcnow())
    )
    purchase.state = int(to)


def _note(purchase: Purchase, note: str) -> None:
    """A history line without a state change."""
    purchase.history.append(
        StateChange(from_state=purchase.state, to_state=purchase.state, note=note, at=utcnow())
    )


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
    purchase: Purchase | None = db.session.scalar(query)
    if purchase is None:
        raise NotFoundError("Invalid or missing PurchaseId.")
    _expire_if_due(purchase, utcnow())
    return purchase


def _set_items(purchase: Purchase, items: list[wire.Item]) -> None:
    purchase.items = [PurchaseItem(position=i, **item.model_dump()) for i, item in enumerate(items)]


def initialize(merchant: Merchant, request: wire.InitializePayment) -> str:
    """Create a purchase in state New from a validated InitializePayment."""
    now = utcnow()
    fields = request.model_dump(exclude={"price", "items", "offer_rec_pmt"}, exclude_none=True)
    with transaction():
        purchase = Purchase(
            id=new_purchase_id(),
            merchant=merchant,
            state=int(State.NEW),
            price=request.price,
            **fields,
        )
        purchase.created_at = now
        _touch(purchase, now)
        _set_items(purchase, request.items)
        purchase.history.append(StateChange(from_state=None, to_state=int(State.NEW), at=now))
        db.session.add(purchase)
        purchase_id = purchase.id
    return purchase_id


def update_items(merchant: Merchant, request: wire.UpdateItems) -> None:
    """Replace the cart; only while the customer is still in the form (New/BeingProcessed)."""
    with transaction():
        purchase = load(request.purchase_id, merchant.id)
        if purchase.state not in IN_CHECKOUT:
            raise StateError(
                f"Items cannot be updated in state {purchase.state_name} ({purchase.state})."
            )
        purchase.price = request.price
        if request.order_reference is not None:
            purchase.order_reference = request.order_reference
        _set_items(purchase, request.items)
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


def completed_queue(merchant: Merchant, request: wire.GetPaymentStatusQueue) -> list[str]:
    """Ids of this merchant's purchases completed after a purchase or a time, oldest first."""
    query = sa.select(Purchase.id).where(
        Purchase.merchant_id == merchant.id, Purchase.completed_at.is_not(None)
    )
    if request.purchase_id is not None:
        anchor = db.session.scalar(
            sa.select(Purchase).where(
                Purchase.id == request.purchase_id.lower(), Purchase.merchant_id == merchant.id
            )
        )
        if anchor is None:
            raise NotFoundError("Invalid PurchaseId.")
        if anchor.completed_at is None:
            raise StateError("The purchase given as PurchaseId is not completed.")
        query = query.where(
            sa.tuple_(Purchase.completed_at, Purchase.id) > (anchor.completed_at, anchor.id)
        )
    elif request.start_date is not None:
        query = query.where(Purchase.completed_at > request.start_date)
    offset = request.offset or 0
    page_size = 100 if request.page_size is None else request.page_size
    query = query.order_by(Purchase.completed_at, Purchase.id).offset(offset).limit(page_size)
    ids = list(db.session.scalars(query))
    db.session.commit()
    return ids


def _accepted_url(purchase: Purchase, url: str | None, what: str) -> str | None:
    """``url`` if its origin is on the merchant's allowed origins; otherwise None, and the
    refusal noted in the purchase's history. The URLs come from the customer's browser:
    a foreign one would receive the merchant's callback and its Authorization header, or
    the customer after an external step."""
    if not url:
        return None
    if merchants.origin_allowed(url, merchants.allowed_origins(purchase.merchant)):
        return url
    _note(purchase, f"{what} refused: its origin is not on the merchant's allowed origins")
    return None


def open_form(
    purchase_id: str,
    callback_url: str | None,
    completed_callback_url: str | None,
    parent_origin: str | None,
) -> Purchase:
    """The customer's browser shows the form: New -> BeingProcessed, remember the URLs.

    The form opens only inside a page of one of the merchant's allowed origins
    (``parent_origin``; ForbiddenError otherwise, and nothing changes); URLs of other
    origins are not taken (a URL given earlier stays).
    """
    with transaction():
        purchase = load(purchase_id)
        allowed = merchants.allowed_origins(purchase.merchant)
        if not merchants.origin_allowed(parent_origin, allowed):
            raise ForbiddenError(
                f"A page of {parent_origin} may not show this checkout: that origin is not "
                "one of the merchant's allowed origins (callback_allowed_origins)."
            )
        callback_url = _accepted_url(purchase, callback_url, "callbackUrl")
        completed_callback_url = _accepted_url(
            purchase, completed_callback_url, "purchaseCompletedCallbackUrl"
        )
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
    purchase.status_message = None
    merchant = purchase.merchant
    if merchant.callback_enabled and purchase.purchase_completed_callback_url:
        delivery.create_deliveries(purchase, merchant, now)


def _editable(purchase: Purchase, column: str) -> bool:
    """InitializePayment's ``Is*Editable`` flags: what the customer may change."""
    if column in {"mail", "phone"}:
        return purchase.is_phone_and_mail_editable
    if column.startswith("invoicing_"):
        return purchase.is_invoicing_editable
    return purchase.is_delivery_editable


def _apply_customer(purchase: Purchase, customer: wire.Customer) -> None:
    """What the customer typed, then the demo customer where nothing is known.

    Fields the shop made read-only (``IsPhoneAndMailEditable``, ``IsInvoicingEditable``,
    ``IsDeliveryEditable`` false) keep InitializePayment's values. ``UseDifferentDeliveryAddress``
    false drops the delivery address; when the flag is not sent, any delivery field given
    decides (the admin API's shorthand).
    """
    given = {
        column: value for column, value in customer.given().items() if _editable(purchase, column)
    }
    separate = given.pop("use_different_delivery_address", None)
    for column, value in given.items():
        setattr(purchase, column, value)
    if separate is None and any(column in given for column in DELIVERY_COLUMNS):
        separate = any(given.get(column) for column in DELIVERY_COLUMNS)
    if separate is not None:
        purchase.use_different_delivery_address = separate and any(
            getattr(purchase, column) for column in DELIVERY_COLUMNS
        )
    if not purchase.use_different_delivery_address:
        for column in DELIVERY_COLUMNS:
            setattr(purchase, column, None)
    for column, value in DEMO_CUSTOMER.items():
        if column not in given and getattr(purchase, column) is None:
            setattr(purchase, column, value)


def missing_in_form(purchase: Purchase, completion: wire.Completion) -> dict[str, str]:
    """The required fields (:data:`FORM_REQUIRED`) the customer left empty, by wire name.

    A field the shop made read-only is not the customer's to fill: InitializePayment's
    value (or the demo customer's) stands.
    """
    given = completion.given()

    def empty(column: str) -> bool:
        return _editable(purchase, column) and not given.get(column)

    required = list(FORM_REQUIRED)
    if given.get("use_different_delivery_address") and purchase.is_delivery_editable:
        required += DELIVERY_REQUIRED
    return {to_pascal(column): "missing" for column in required if empty(column)}


def complete(
    purchase_id: str,
    completion: wire.Completion,
    completed_callback_url: str | None = None,
    scripted_step: str | None = None,
    external_url: Callable[[str, Method], str] | None = None,
    form: bool = False,
) -> Outcome:
    """The customer presses **Complete purchase** (or the scripted customer does).

    Invoice completes at once; the other methods enter their step's waiting state and
    the browser is sent to ``external_url(purchase_id, method)``. The scripted customer
    answers the step at once with ``scripted_step`` (approve, decline, fail) or leaves
    the purchase waiting ("wait"). "Fail" ends in Error. Completing an already completed
    purchase changes nothing (no second callback). Everything, including the callback
    delivery rows, is one transaction.

    From the checkout ``form``, every required field must be filled
    (:func:`missing_in_form`), or :class:`FieldErrors` says which are not and nothing
    changes; the scripted customer gets the demo customer's details instead.
    """
    with transaction():
        purchase = load(purchase_id)
        if purchase.state == State.COMPLETED:
            return Outcome(purchase.id, State.COMPLETED, "completed")
        if purchase.state not in IN_CHECKOUT:
            raise StateError(dead_message(purchase))
        missing = missing_in_form(purchase, completion) if form else {}
        if missing:
            raise FieldErrors([f"{name} is required." for name in missing], missing)
        completed_callback_url = _accepted_url(
            purchase, completed_callback_url, "purchaseCompletedCallbackUrl"
        )
        if completed_callback_url:
            purchase.purchase_completed_callback_url = completed_callback_url
        _apply_customer(purchase, completion)
        purchase.status_message = None
        if purchase.state == State.NEW:
            _transition(purchase, State.BEING_PROCESSED, "Checkout started")
        if completion.payment_method == FAIL:
            purchase.status_message = "The payment failed."
            _transition(purchase, State.ERROR, "Customer chose Fail payment")
            return Outcome(purchase.id, State.ERROR, "failed", message=purchase.status_message)
        chosen = METHODS[completion.payment_method]
        purchase.payment_method = int(chosen)
        if chosen == Method.INVOICE:
            _finish(purchase, "Invoice accepted")
            return Outcome(purchase.id, State.COMPLETED, "completed")
        step = STEPS[chosen]
        _transition(purchase, step.state, f"Sent to {step.place}")
        purchase.external_approved = None
        _touch(purchase, utcnow())
        if scripted_step is not None:
            if scripted_step == "wait":
                return Outcome(purchase.id, step.state, "waiting")
            _decide(purchase, scripted_step, scripted=True)
            return _resume(purchase)
        url = external_url(purchase.id, chosen) if external_url else None
        return Outcome(purchase.id, step.state, "redirect", redirect_url=url)


def dead_message(purchase: Purchase) -> str:
    state = State(purchase.state)
    if state == State.ERROR:
        return purchase.status_message or "The payment failed."
    if state == State.SESSION_TIMED_OUT:
        return "The checkout session timed out."
    if state == State.CANCELLED:
        return "The purchase was cancelled."
    if state in WAITING:
        return "The purchase is waiting for an external payment step."
    return f"The purchase cannot be completed in state {state.name}."


def _decide(purchase: Purchase, decision: str, scripted: bool = False) -> None:
    """The step's verdict, in the caller's transaction (the purchase is waiting)."""
    method = METHOD_WAITING_IN[State(purchase.state)]
    step = STEPS[method]
    how = " (scripted)" if scripted else ""
    if decision == "approve":
        purchase.external_approved = True
        if not scripted:
            _note(purchase, f"Approved at {step.place}")
    elif decision == "decline":
        purchase.external_approved = None
        purchase.payment_method = None
        purchase.status_message = f"The {step.what} was declined. Choose another payment method."
        _transition(
            purchase, State.BEING_PROCESSED, f"Declined at {step.place}{how}: back to the form"
        )
        _touch(purchase, utcnow())
    else:
        purchase.external_approved = False
        purchase.status_message = f"The {step.what} failed."
        _transition(purchase, State.ERROR, f"Failed at {step.place}{how}")


def decide(purchase_id: str, decision: str, method: Method | None = None) -> Purchase:
    """The card issuer's, bank's, Signicat's or BankID's answer (``method``: the page's
    own, which must be the step the purchase waits for). Approval waits for the shop's
    page to call ``init`` again (:func:`resume`)."""
    with transaction():
        purchase = load(purchase_id)
        waiting_for = METHOD_WAITING_IN.get(State(purchase.state))
        if waiting_for is None or (method is not None and waiting_for != method):
            raise StateError(dead_message(purchase))
        if purchase.external_approved is not None:
            raise StateError("This payment step was already answered.")
        _decide(purchase, decision)
    return purchase


def _resume(purchase: Purchase) -> Outcome:
    state = State(purchase.state)
    if state == State.COMPLETED:
        return Outcome(purchase.id, state, "completed")
    if state in WAITING:
        if purchase.external_approved:
            step = STEPS[METHOD_WAITING_IN[state]]
            _finish(purchase, f"Customer back from {step.place}")
            return Outcome(purchase.id, State.COMPLETED, "completed")
        return Outcome(purchase.id, state, "waiting", message="The payment is not approved yet.")
    if state in IN_CHECKOUT:
        return Outcome(purchase.id, state, "form", message=purchase.status_message)
    return Outcome(purchase.id, state, "failed", message=dead_message(purchase))


def resume(purchase_id: str) -> Outcome:
    """The shop's page called ``init`` again after the external step: finish if approved."""
    with transaction():
        outcome = _resume(load(purchase_id))
    return outcome


def expire(purchase_id: str) -> Purchase:
    """Time the purchase out now (admin API): as if left too long in its state."""
    with transaction():
        purchase = load(purchase_id)
        if purchase.state not in TIMES_OUT:
            raise StateError(
                f"A purchase in state {purchase.state_name} ({purchase.state}) cannot time out."
            )
        purchase.expires_at = utcnow()
        _expire_if_due(purchase, purchase.expires_at)
    return purchase


def cancel(purchase: Purchase, reason: str) -> None:
    """CancelPayment's state change, in the caller's transaction (rules in commerce.py)."""
    purchase.cancel_reason = reason
    _transition(purchase, State.CANCELLED, f"Cancelled by the merchant: {reason}"[:200])


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
        "UseDifferentDeliveryAddress": purchase.use_different_delivery_address,
    }
    separate = purchase.use_different_delivery_address
    for column in CUSTOMER_COLUMNS:
        wire_name = to_pascal(column)
        if column.startswith("invoicing_"):
            body[wire_name] = getattr(purchase, column)
        elif column.startswith("delivery_"):
            body[wire_name] = getattr(purchase, column) if separate else None
    return body


def _money(value: Decimal) -> Decimal:
    return value.quantize(wire.CENT)


def admin_json(purchase: Purchase) -> dict[str, Any]:
    """The admin API's view: status plus Commerce amounts, items, history and deliveries.

    The amounts (``docs/sandbox-fidelity.md`` describes them): AuthorizedAmount,
    DeliveredAmount, ReturnedAmount, RefundedAmount, ReleasedAmount (by RefundRemaining),
    RemainingAmount, DeliverableAmount, RefundableAmount.
    """
    body = status_json(purchase)
    body.update(
        {
            "SiteCode": purchase.merchant.site_code,
            "StateName": purchase.state_name,
            "PaymentMethodName": purchase.method_name,
            "PurchaseCompletedCallbackUrl": purchase.purchase_completed_callback_url,
            "CallbackUrl": purchase.callback_url,
            "StatusMessage": purchase.status_message,
            "CancelReason": purchase.cancel_reason,
            "Created": iso(purchase.created_at),
            "Expires": iso(purchase.expires_at),
            "AuthorizedAmount": _money(purchase.authorized_amount),
            "DeliveredAmount": purchase.delivered_amount,
            "ReturnedAmount": purchase.returned_amount,
            "RefundedAmount": purchase.refunded_amount,
            "ReleasedAmount": purchase.released_amount,
            "RemainingAmount": _money(purchase.remaining_amount),
            "DeliverableAmount": _money(purchase.deliverable_amount),
            "RefundableAmount": _money(purchase.refundable_amount),
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
                    "order_reference": t.order_reference,
                    "tracking_code": t.tracking_code,
                    "amount": t.amount,
                    "at": iso(t.created_at),
                }
                for t in purchase.transactions
            ],
            "deliveries": [delivery.delivery_json(d) for d in purchase.deliveries],
        }
    )
    return body
