"""Commerce calls after a purchase: deliver (capture), return, refund, release, cancel.

Avarda's rules (finalize-purchase and the Commerce API pages):

* ``ExternalId`` and ``OrderReference`` must be given (CancelPayment: ``ExternalId`` and
  ``Reason``); PurchaseOrder and ReturnOrder need ``Items``; ``TranId``, ``TrackingCode`` and
  ``PosId`` are optional.
* Part deliveries: several PurchaseOrders per purchase, even with different order
  references. Rebate rows (negative) are fine while the message's total is positive, and
  zero-amount rows are accepted.
* Invoice and Account (Loan) may be delivered above the authorized amount; Card and direct
  bank payments may not exceed it.
* CancelPayment is denied once PurchaseOrder, ReturnOrder or Refund was called, with
  Avarda's message; the purchase then is in state 8.

Sandbox choices, where Avarda is silent: the over-delivery tolerance is
:data:`~sandbox.models.OVERDELIVERY_TOLERANCE` of the authorized amount (credit methods,
PartPayment included, until RefundRemaining released the rest); ReturnOrder and Refund take
back at most what was delivered and not yet returned or refunded; RefundRemaining with
nothing left is an error; after RefundRemaining nothing more can be delivered; CancelPayment
needs a completed purchase ("No authorization found" otherwise) and answers 200 again for a
purchase it already cancelled; RefundRemaining alone does not block CancelPayment (Avarda's
message names the other three). Error codes other than 10005 are the sandbox's.

``TranId``, when given, is unique per merchant: a repeat with the same TranId and the same
request answers 200 and changes nothing; reusing it for another request is an error. Without
a TranId every call is applied.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import IntegrityError

from sandbox import purchases, wire
from sandbox.db import db, transaction, utcnow
from sandbox.errors import CommerceError, NotFoundError
from sandbox.models import CommerceTransaction, Merchant, Purchase, State

CANCEL_DENIED_MESSAGE = (
    "CancelAuthorization denied – PurchaseOrder, ReturnOrder or RefundOrder was already called"
)
NO_AUTHORIZATION_MESSAGE = "No authorization found"
#: The calls after which Avarda denies CancelPayment.
BLOCKS_CANCEL = ("PurchaseOrder", "ReturnOrder", "Refund")


def parse(kind: str, body: Any) -> wire.CommerceCall:
    """The request as Avarda's model for ``kind``; CommerceError lists every problem."""
    try:
        return wire.COMMERCE_MODELS[kind].model_validate(body)
    except PydanticValidationError as exc:
        raise CommerceError.of(wire.commerce_errors(exc)) from None


def _fingerprint(kind: str, request: wire.CommerceCall) -> str:
    canonical = json.dumps(
        {"kind": kind, **request.model_dump(mode="json")}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _load(merchant: Merchant, external_id: str) -> Purchase:
    try:
        return purchases.load(external_id, merchant.id)
    except NotFoundError:
        raise CommerceError(wire.INVALID_EXTERNAL_ID, wire.INVALID_EXTERNAL_ID_MESSAGE) from None


def _require_completed(purchase: Purchase) -> None:
    if purchase.state != State.COMPLETED:
        raise CommerceError(
            wire.WRONG_STATE,
            f"The purchase is not completed (state {purchase.state_name}, {purchase.state}).",
        )


def transact(merchant: Merchant, kind: str, body: Any) -> None:
    """PurchaseOrder, ReturnOrder, Refund or RefundRemaining; raises CommerceError."""
    request = parse(kind, body)
    assert isinstance(request, wire.CommerceTransaction)
    fingerprint = _fingerprint(kind, request)
    try:
        with transaction():
            purchase = _load(merchant, request.external_id)
            if request.tran_id is not None:
                previous = db.session.scalar(
                    sa.select(CommerceTransaction).filter_by(
                        merchant_id=merchant.id, tran_id=request.tran_id
                    )
                )
                if previous is not None:
                    if previous.fingerprint == fingerprint:
                        return
                    raise CommerceError(
                        wire.TRAN_ID_REUSED, "TranId was already used for another request."
                    )
            _require_completed(purchase)
            amount = _apply(purchase, request)
            db.session.add(
                CommerceTransaction(
                    merchant_id=merchant.id,
                    purchase_id=purchase.id,
                    tran_id=request.tran_id,
                    kind=kind,
                    amount=amount,
                    fingerprint=fingerprint,
                    order_reference=request.order_reference,
                    tracking_code=getattr(request, "tracking_code", None),
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        # The same TranId committed concurrently by another request.
        raise CommerceError(wire.TRAN_ID_REUSED, "TranId was already used.") from None


def _too_large(amount: Decimal, limit: Decimal, what: str) -> CommerceError:
    return CommerceError(wire.AMOUNT_TOO_LARGE, f"Amount {amount} exceeds {what} ({limit}).")


def _apply(purchase: Purchase, request: wire.CommerceTransaction) -> Decimal:
    """Move the purchase's amounts; returns the transaction's amount."""
    if isinstance(request, wire.PurchaseOrder) and not isinstance(request, wire.ReturnOrder):
        amount = request.amount
        if purchase.released_amount > 0:
            raise CommerceError(
                wire.AMOUNT_TOO_LARGE,
                "The undelivered remainder was released by RefundRemaining: "
                "nothing more can be delivered.",
            )
        limit = purchase.deliverable_amount
        if amount > limit:
            raise _too_large(amount, limit, "what may still be delivered")
        purchase.delivered_amount += amount
        return amount
    if isinstance(request, wire.ReturnOrder | wire.Refund):
        amount = request.amount
        limit = purchase.refundable_amount
        if amount > limit:
            raise _too_large(amount, limit, "what was delivered and not yet returned or refunded")
        if isinstance(request, wire.ReturnOrder):
            purchase.returned_amount += amount
        else:
            purchase.refunded_amount += amount
        return amount
    remainder = purchase.remaining_amount
    if remainder <= 0:
        raise CommerceError(wire.AMOUNT_TOO_LARGE, "Nothing undelivered remains to refund.")
    purchase.released_amount += remainder
    return remainder


def cancel_payment(merchant: Merchant, body: Any) -> None:
    """CancelPayment: state 8, unless PurchaseOrder, ReturnOrder or Refund was called."""
    request = parse("CancelPayment", body)
    assert isinstance(request, wire.CancelPayment)
    with transaction():
        purchase = _load(merchant, request.external_id)
        if purchase.state == State.CANCELLED:
            return
        blocking = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CommerceTransaction)
            .where(
                CommerceTransaction.purchase_id == purchase.id,
                CommerceTransaction.kind.in_(BLOCKS_CANCEL),
            )
        )
        if blocking:
            raise CommerceError(wire.CANCEL_DENIED, CANCEL_DENIED_MESSAGE)
        if purchase.state != State.COMPLETED:
            raise CommerceError(wire.WRONG_STATE, NO_AUTHORIZATION_MESSAGE)
        purchases.cancel(purchase, request.reason)
        db.session.add(
            CommerceTransaction(
                merchant_id=merchant.id,
                purchase_id=purchase.id,
                tran_id=None,
                kind="CancelPayment",
                amount=Decimal("0.00"),
                fingerprint=_fingerprint("CancelPayment", request),
                created_at=utcnow(),
            )
        )
