"""Commerce calls after a purchase: deliver (capture), return, refund, cancel.

Amounts are tracked per purchase: ``delivered`` (captured), ``returned`` and ``refunded``
(both out of what was delivered), ``released`` (the undelivered remainder given up by
RefundRemaining). **(sandbox choices)** where Avarda's public material is silent:
Refund and ReturnOrder may take back at most what was delivered and not yet returned or
refunded; RefundRemaining with nothing left is an error; CancelPayment of an already
cancelled purchase answers 200 again (so a retried call is harmless).

``TranId`` is unique per merchant: repeating a call with the same TranId and the same
request answers 200 and changes nothing; reusing it for a different request is an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from sandbox import purchases
from sandbox.db import db, transaction, utcnow
from sandbox.errors import CommerceError, NotFoundError
from sandbox.models import IN_CHECKOUT, WAITING, CommerceTransaction, Merchant, Purchase, State
from sandbox.validation import parse_amount, parse_items

INVALID_EXTERNAL_ID = ("10005", "Invalid or missing external ID.")
INVALID_TRAN_ID = "10006"
TRAN_ID_REUSED = "10007"
INVALID_AMOUNT = "10008"
AMOUNT_TOO_LARGE = "10009"
WRONG_STATE = "10010"
CANCEL_DENIED = "10011"
INVALID_BODY = "10012"

KINDS = ("PurchaseOrder", "ReturnOrder", "Refund", "RefundRemaining")
ZERO = Decimal("0.00")

#: Longest accepted texts: their columns' lengths (PostgreSQL enforces them).
_COLUMNS = CommerceTransaction.__table__.c
TRAN_ID_MAX = _COLUMNS.tran_id.type.length
ORDER_REFERENCE_MAX = _COLUMNS.order_reference.type.length
TRACKING_CODE_MAX = _COLUMNS.tracking_code.type.length
REASON_MAX = Purchase.__table__.c.cancel_reason.type.length


def _text(body: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise CommerceError(INVALID_BODY, f"{key} must be a string of at most {limit} characters.")
    return value


def _parse(kind: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise CommerceError(INVALID_BODY, "The request body must be a JSON object.")
    external_id = body.get("ExternalId")
    if not isinstance(external_id, str) or not external_id or len(external_id) > 64:
        raise CommerceError(*INVALID_EXTERNAL_ID)
    tran_id = body.get("TranId")
    if not isinstance(tran_id, str) or not tran_id.strip() or len(tran_id) > TRAN_ID_MAX:
        raise CommerceError(
            INVALID_TRAN_ID, f"Invalid or missing TranId (at most {TRAN_ID_MAX} characters)."
        )
    request: dict[str, Any] = {
        "kind": kind,
        "external_id": external_id.lower(),
        "tran_id": tran_id,
        "order_reference": _text(body, "OrderReference", ORDER_REFERENCE_MAX),
        "tracking_code": (
            _text(body, "TrackingCode", TRACKING_CODE_MAX) if kind == "PurchaseOrder" else None
        ),
        "amount": None,
    }
    errors: list[str] = []
    if kind in {"PurchaseOrder", "ReturnOrder"}:
        items = parse_items(body.get("Items"), errors)
        if not errors:
            total = sum((item["amount"] for item in items), ZERO)
            if total <= 0:
                errors.append(f"The sum of item amounts must be positive, got {total}.")
            request["amount"] = total
            request["items"] = [{k: str(v) for k, v in item.items()} for item in items]
    elif kind == "Refund":
        if body.get("Amount") is None:
            errors.append("Amount is required.")
        else:
            amount = parse_amount(body["Amount"], "Amount", errors)
            if amount is not None and amount <= 0:
                errors.append("Amount must be greater than 0.")
            request["amount"] = amount
    if errors:
        raise CommerceError(INVALID_AMOUNT, " ".join(errors))
    return request


def _fingerprint(request: Mapping[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _load(merchant: Merchant, external_id: str) -> Purchase:
    try:
        return purchases.load(external_id, merchant.id)
    except NotFoundError:
        raise CommerceError(*INVALID_EXTERNAL_ID) from None


def _require_completed(purchase: Purchase) -> None:
    if purchase.state != State.COMPLETED:
        raise CommerceError(
            WRONG_STATE,
            f"The purchase is not completed (state {purchase.state_name}, {purchase.state}).",
        )


def transact(merchant: Merchant, kind: str, body: Any) -> None:
    """PurchaseOrder, ReturnOrder, Refund or RefundRemaining; raises CommerceError."""
    request = _parse(kind, body)
    fingerprint = _fingerprint(request)
    try:
        with transaction():
            purchase = _load(merchant, request["external_id"])
            previous = db.session.scalar(
                sa.select(CommerceTransaction).filter_by(
                    merchant_id=merchant.id, tran_id=request["tran_id"]
                )
            )
            if previous is not None:
                if previous.fingerprint == fingerprint:
                    return
                raise CommerceError(TRAN_ID_REUSED, "TranId was already used for another request.")
            _require_completed(purchase)
            amount = _apply(purchase, kind, request["amount"])
            db.session.add(
                CommerceTransaction(
                    merchant_id=merchant.id,
                    purchase_id=purchase.id,
                    tran_id=request["tran_id"],
                    kind=kind,
                    amount=amount,
                    fingerprint=fingerprint,
                    order_reference=request["order_reference"],
                    tracking_code=request["tracking_code"],
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        # The same TranId committed concurrently by another request.
        raise CommerceError(TRAN_ID_REUSED, "TranId was already used.") from None


def _apply(purchase: Purchase, kind: str, amount: Decimal | None) -> Decimal:
    undelivered = purchase.price - purchase.delivered_amount - purchase.released_amount
    takeable = purchase.delivered_amount - purchase.returned_amount - purchase.refunded_amount
    if kind == "PurchaseOrder":
        assert amount is not None
        if amount > undelivered:
            raise CommerceError(
                AMOUNT_TOO_LARGE,
                f"Amount {amount} exceeds the undelivered remainder {undelivered}.",
            )
        purchase.delivered_amount += amount
        return amount
    if kind in {"ReturnOrder", "Refund"}:
        assert amount is not None
        if amount > takeable:
            raise CommerceError(
                AMOUNT_TOO_LARGE,
                f"Amount {amount} exceeds what was delivered and not yet returned or refunded "
                f"({takeable}).",
            )
        if kind == "ReturnOrder":
            purchase.returned_amount += amount
        else:
            purchase.refunded_amount += amount
        return amount
    if undelivered <= 0:
        raise CommerceError(AMOUNT_TOO_LARGE, "Nothing undelivered remains to refund.")
    purchase.released_amount += undelivered
    return undelivered


def cancel_payment(merchant: Merchant, body: Any) -> None:
    """CancelPayment: state 8, unless anything was delivered, returned or refunded."""
    if not isinstance(body, Mapping):
        raise CommerceError(INVALID_BODY, "The request body must be a JSON object.")
    external_id = body.get("ExternalId")
    if not isinstance(external_id, str) or not external_id:
        raise CommerceError(*INVALID_EXTERNAL_ID)
    reason = _text(body, "Reason", REASON_MAX)
    with transaction():
        purchase = _load(merchant, external_id)
        if purchase.state == State.CANCELLED:
            return
        touched = (
            purchase.delivered_amount,
            purchase.returned_amount,
            purchase.refunded_amount,
            purchase.released_amount,
        )
        if any(value > 0 for value in touched):
            raise CommerceError(
                CANCEL_DENIED,
                "CancelPayment is denied: the purchase has deliveries, returns or refunds.",
            )
        if purchase.state not in IN_CHECKOUT | WAITING | {State.COMPLETED}:
            raise CommerceError(
                WRONG_STATE,
                f"The purchase cannot be cancelled in state {purchase.state_name} "
                f"({purchase.state}).",
            )
        purchase.cancel_reason = reason
        purchases.cancel(purchase, reason)
        db.session.add(
            CommerceTransaction(
                merchant_id=merchant.id,
                purchase_id=purchase.id,
                tran_id=None,
                kind="CancelPayment",
                amount=ZERO,
                fingerprint=_fingerprint({"kind": "CancelPayment", "id": purchase.id}),
                created_at=utcnow(),
            )
        )
