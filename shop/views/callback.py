"""``POST /avarda/purchase-completed``: Avarda's server-side callback.

Order of checks, each answering before the next runs, none touching the database
before the last:

1. Authentication (Flask-HTTPAuth): HTTP Basic with ``CALLBACK_USERNAME`` and
   ``CALLBACK_PASSWORD`` (or ``CALLBACK_PREVIOUS_PASSWORD`` during a rotation),
   compared in constant time as bytes; or, when ``CALLBACK_JWT_SECRET`` is set, a static
   ``Bearer`` JWT signed with HS256. Every failure gets the same 401 body and
   ``WWW-Authenticate`` header, so a caller cannot tell which part was wrong.
2. ``Content-Type: application/json`` (415), a body of at most ``CALLBACK_MAX_BODY``
   bytes (413), strict JSON: UTF-8, one object, no duplicate keys, shallow, with a
   string ``purchaseId`` of 32 lowercase hex characters (400). Extra fields are
   ignored and never trusted: the body only says *which* purchase to look at.
3. The confirm step. 200 when the shop reached a final decision (paid now or before,
   on hold, failed); 404 when no order has this purchase id (Avarda retries, in case
   the order is not committed yet); 503 when Avarda's status cannot be fetched, does
   not say Completed yet, the database is busy, or the confirm step fails in any other
   way (logged; Avarda retries). Never a 500.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

import jwt
from flask import Blueprint, Response, current_app, jsonify, request
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from shop.avarda import PURCHASE_ID
from shop.extensions import db
from shop.orders.confirm import ConfirmOutcome, confirm_purchase

log = logging.getLogger(__name__)

bp = Blueprint("callback", __name__)

REALM = "Avarda callback"
MAX_DEPTH = 4

basic_auth = HTTPBasicAuth(realm=REALM)
bearer_auth = HTTPTokenAuth(scheme="Bearer", realm=REALM)
callback_auth = MultiAuth(basic_auth, bearer_auth)


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of the UTF-8 bytes (str comparison would raise on
    non-ASCII input instead of simply answering False)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


@basic_auth.verify_password
def _verify_basic(username: str, password: str) -> bool:
    scheme = request.headers.get("Authorization", "").split(" ", 1)[0]
    if scheme.lower() != "basic":
        return False
    config = current_app.config
    expected_user = config.get("CALLBACK_USERNAME") or ""
    current = config.get("CALLBACK_PASSWORD") or ""
    previous = config.get("CALLBACK_PREVIOUS_PASSWORD") or ""
    if not expected_user or not current:
        return False
    user_ok = _same(username, expected_user)
    # Compare against both passwords every time: timing does not reveal a rotation.
    current_ok = _same(password, current)
    previous_ok = _same(password, previous) if previous else False
    return user_ok and (current_ok or previous_ok)


@bearer_auth.verify_token
def _verify_bearer(token: str) -> bool:
    secret = current_app.config.get("CALLBACK_JWT_SECRET") or ""
    if not secret or not token:
        return False
    try:
        jwt.decode(token, secret, algorithms=["HS256"], options={"verify_aud": False})
    except Exception:  # any malformed token is simply not authentication
        return False
    return True


def _unauthorized(_status: int = 401) -> Response:
    response = jsonify(error="unauthorized", message="Valid callback credentials are required.")
    response.status_code = 401
    response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response


basic_auth.error_handler(_unauthorized)
bearer_auth.error_handler(_unauthorized)


class BadCallback(ValueError):
    """The body is not a valid callback; the message is safe to return."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadCallback(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise BadCallback(f"{name} is not valid JSON")


def _nesting_depth(text: str) -> int:
    """Deepest ``{``/``[`` nesting outside strings, found before parsing anything."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_callback_body(raw: bytes) -> str:
    """The purchase id from a callback body, or :class:`BadCallback`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadCallback("the body is not UTF-8") from None
    if _nesting_depth(text) > MAX_DEPTH:
        raise BadCallback("the JSON is nested too deeply")
    try:
        data = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except BadCallback:
        raise
    except (ValueError, RecursionError):
        raise BadCallback("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadCallback("the body must be a JSON object")
    purchase_id = data.get("purchaseId")
    if not isinstance(purchase_id, str) or not PURCHASE_ID.fullmatch(purchase_id):
        raise BadCallback("purchaseId must be a string of 32 lowercase hexadecimal characters")
    return purchase_id


def _answer(status: int, error: str | None = None, **fields: Any) -> Response:
    body = {"error": error, **fields} if error else fields
    response = jsonify(body)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = "60"
    return response


@bp.post("/avarda/purchase-completed")
@callback_auth.login_required
def purchase_completed() -> Response:
    if request.mimetype != "application/json" or (
        request.mimetype_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8")
    ):
        return _answer(415, "unsupported_media_type", message="Send application/json.")
    limit = int(current_app.config["CALLBACK_MAX_BODY"])
    if request.content_length is not None and request.content_length > limit:
        return _answer(413, "too_large", message=f"The body may be at most {limit} bytes.")
    # A chunked body has no Content-Length: read one byte past the limit to notice.
    request.max_content_length = limit + 1
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raw = b"x" * (limit + 1)
    except ClientDisconnected:
        return _answer(400, "bad_request", message="The body was cut short.")
    if len(raw) > limit:
        return _answer(413, "too_large", message=f"The body may be at most {limit} bytes.")
    try:
        purchase_id = parse_callback_body(raw)
    except BadCallback as exc:
        return _answer(400, "bad_request", message=str(exc))

    try:
        result = confirm_purchase(purchase_id, "callback")
    except SQLAlchemyError:
        log.exception("callback for %s: database error; Avarda will retry", purchase_id)
        db.session.rollback()
        return _answer(503, "busy", message="Try again later.", purchaseId=purchase_id)
    except Exception:
        # A bug or a broken setting: answered "try again" so the notification is not
        # lost, and logged (without the request's headers) so someone fixes it.
        log.exception("callback for %s: confirm step failed; Avarda will retry", purchase_id)
        db.session.rollback()
        return _answer(503, "error", message="Try again later.", purchaseId=purchase_id)

    outcome = result.outcome
    if outcome is ConfirmOutcome.UNKNOWN_PURCHASE:
        return _answer(404, "unknown_purchase", purchaseId=purchase_id)
    if result.is_done and result.order is not None:
        return _answer(200, purchaseId=purchase_id, outcome=outcome.value, state=result.order.state)
    message = (
        "Avarda's status could not be fetched."
        if outcome is ConfirmOutcome.AVARDA_UNAVAILABLE
        else "Avarda does not report this purchase as completed yet."
    )
    return _answer(503, outcome.value, message=message, purchaseId=purchase_id)
