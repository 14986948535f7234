"""``POST /avarda/purchase-completed``: Avarda's server-side callback (Flask glue).

The checks live in :mod:`shop.avarda.callback` (framework-free): authentication before
the body is read (401, the same answer for every failure), then the content type
(415), the size (413) and strict JSON with a ``purchaseId`` of 32 lowercase hex
characters (400). This view only hands them the header, the content type and a way to
read the body, and then runs the confirm step:

- 200 when the shop reached a final decision (paid now or before, on hold, failed);
- 404 when no order has this purchase id (Avarda retries, in case the order is not
  committed yet);
- 503 with ``Retry-After`` when Avarda's status cannot be fetched, does not say
  Completed yet, says something the shop does not know (a State or PaymentMethod it
  has no meaning for: recorded on the order for a person), the database is busy, or
  the confirm step fails in any other way (logged; Avarda retries). Never a 500.

Every request, rejected ones included, is then recorded in the notification log
(``shop.orders.callback_log``): time, source address, authentication result (never the
header's value), purchase id, status, outcome and latency.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from common.db import utcnow
from shop.avarda.callback import (
    WWW_AUTHENTICATE,
    BadCallback,
    CallbackAuthenticator,
    CallbackCredentials,
    CallbackRejected,
    PayloadTooLarge,
    Unauthorized,
    accept_purchase_completed,
)
from shop.extensions import callback_avarda_client, db
from shop.models import AuthResult, ConfirmPath
from shop.orders.callback_log import CallbackRecord, auth_scheme, record_callback
from shop.orders.confirm import ConfirmOutcome, confirm_purchase

log = logging.getLogger(__name__)

bp = Blueprint("callback", __name__)


def _authenticator() -> CallbackAuthenticator:
    config = current_app.config
    return CallbackAuthenticator(
        CallbackCredentials(
            username=config.get("CALLBACK_USERNAME") or "",
            password=config.get("CALLBACK_PASSWORD") or "",
            previous_password=config.get("CALLBACK_PREVIOUS_PASSWORD") or "",
            jwt_secret=config.get("CALLBACK_JWT_SECRET") or "",
        )
    )


def _read_body(limit: int) -> bytes:
    """At most ``limit`` bytes of the body (a chunked body has no Content-Length)."""
    request.max_content_length = limit
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(limit - 1) from None
    except ClientDisconnected:
        raise BadCallback("The body was cut short.") from None


def _answer(status: int, error: str | None = None, **fields: Any) -> Response:
    body = {"error": error, **fields} if error else fields
    response = jsonify(body)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = "60"
    if status == 401:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return response


@dataclass
class _Seen:
    """What the notification log needs to know about one request."""

    auth: AuthResult = AuthResult.OK
    purchase_id: str | None = None
    outcome: str = "error"


@bp.post("/avarda/purchase-completed")
def purchase_completed() -> Response:
    received, started = utcnow(), time.perf_counter()
    seen = _Seen()
    response = _handle(seen)
    _log(received, started, seen, response.status_code)
    return response


def _log(received: datetime, started: float, seen: _Seen, status: int) -> None:
    """Record the request in the notification log; a failure here is logged and never
    changes the answer (Avarda must not retry a callback because the log is busy)."""
    try:
        record_callback(
            db.session(),
            CallbackRecord(
                received_at=received,
                remote_addr=request.remote_addr,
                auth=seen.auth,
                auth_scheme=auth_scheme(request.headers.get("Authorization")),
                purchase_id=seen.purchase_id,
                status=status,
                outcome=seen.outcome,
                latency_ms=round((time.perf_counter() - started) * 1000),
            ),
        )
    except Exception:
        log.exception("callback: could not record it in the notification log")
        db.session.rollback()


def _handle(seen: _Seen) -> Response:
    try:
        purchase_id = accept_purchase_completed(
            authorization=request.headers.get("Authorization"),
            content_type=request.headers.get("Content-Type"),
            content_length=request.content_length,
            read_body=_read_body,
            authenticator=_authenticator(),
            max_bytes=int(current_app.config["CALLBACK_MAX_BODY"]),
        )
    except CallbackRejected as exc:
        if isinstance(exc, Unauthorized):
            has_header = bool(request.headers.get("Authorization"))
            seen.auth = AuthResult.REFUSED if has_header else AuthResult.MISSING
        seen.outcome = exc.error
        return _answer(exc.status, exc.error, message=exc.message)
    seen.purchase_id = purchase_id

    try:
        result = confirm_purchase(
            db.session(),
            callback_avarda_client(),
            purchase_id,
            ConfirmPath.CALLBACK,
            shop_url=current_app.config["SHOP_PUBLIC_URL"],
        )
    except SQLAlchemyError:
        log.exception("callback for %s: database error; Avarda will retry", purchase_id)
        db.session.rollback()
        seen.outcome = "busy"
        return _answer(503, "busy", message="Try again later.", purchaseId=purchase_id)
    except Exception:
        # A bug or a broken setting: answered "try again" so the notification is not
        # lost, and logged (without the request's headers) so someone fixes it.
        log.exception("callback for %s: confirm step failed; Avarda will retry", purchase_id)
        db.session.rollback()
        seen.outcome = "error"
        return _answer(503, "error", message="Try again later.", purchaseId=purchase_id)

    outcome = result.outcome
    seen.outcome = outcome.value
    if outcome is ConfirmOutcome.UNKNOWN_PURCHASE:
        return _answer(404, "unknown_purchase", purchaseId=purchase_id)
    if result.is_done and result.order is not None:
        return _answer(200, purchaseId=purchase_id, outcome=outcome.value, state=result.order.state)
    messages = {
        ConfirmOutcome.AVARDA_UNAVAILABLE: "Avarda's status could not be fetched.",
        ConfirmOutcome.NEEDS_ATTENTION: "Avarda's answer needs a person; it was recorded.",
    }
    message = messages.get(outcome, "Avarda does not report this purchase as completed yet.")
    return _answer(503, outcome.value, message=message, purchaseId=purchase_id)
