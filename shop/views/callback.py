"""``POST /avarda/purchase-completed``: Avarda's server-side callback (Flask glue).

The checks live in :mod:`shop.avarda.callback` (framework-free): authentication before
the body is read (401, the same answer for every failure), then the content type
(415), the size (413) and strict JSON with a ``purchaseId`` of 32 lowercase hex
characters (400). What to answer after the confirm step (200, 404, 503 with
``Retry-After``, never a 500) is :mod:`shop.orders.callback`. This view only hands
them the header, the content type and a way to read the body, and turns the answer
into a response.

Every request, rejected ones included, is then recorded in the notification log
(``shop.orders.callback_log``): time, source address, authentication result (never the
header's value), purchase id, status, outcome and latency.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from common.db import utcnow
from shop.avarda.callback import (
    BadCallback,
    CallbackAuthenticator,
    CallbackCredentials,
    CallbackRejected,
    PayloadTooLarge,
    Unauthorized,
    accept_purchase_completed,
)
from shop.extensions import callback_avarda_client, db
from shop.models import AuthResult
from shop.orders.callback import CallbackAnswer, confirm_callback, refusal
from shop.orders.callback_log import CallbackRecord, RefusalBudget, auth_scheme, record_callback

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


def _refusal_budget() -> RefusalBudget:
    """This app's allowance of refused requests in the notification log (per process)."""
    budget: RefusalBudget = current_app.extensions.setdefault(
        "callback_refusal_budget", RefusalBudget()
    )
    return budget


def _read_body(limit: int) -> bytes:
    """At most ``limit`` bytes of the body (a chunked body has no Content-Length)."""
    request.max_content_length = limit
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(limit - 1) from None
    except ClientDisconnected:
        raise BadCallback("The body was cut short.") from None


def _respond(answer: CallbackAnswer) -> Response:
    response = jsonify(answer.body)
    response.status_code = answer.status
    response.headers.update(answer.headers)
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
            _refusal_budget(),
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
        answer = refusal(exc)
    else:
        seen.purchase_id = purchase_id
        answer = confirm_callback(
            db.session(),
            callback_avarda_client(),
            purchase_id,
            shop_url=current_app.config["SHOP_PUBLIC_URL"],
        )
    seen.outcome = answer.outcome
    return _respond(answer)
