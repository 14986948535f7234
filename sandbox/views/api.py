"""The server API: ``POST /CheckOut2/CheckOut2Api/<Method>`` and ``.../Commerce/<Method>``.

Every call needs HTTP Basic with the site code and site password (401 with an empty body
otherwise). Checkout errors answer 400 with ``{"CheckOutErrorCode": n, "Errors": [...]}``,
Commerce errors 400 with ``[{"ErrorCode": "...", "ErrorMessage": "..."}]``.
Checkout error codes **(sandbox choice)**: 1001 validation, 1002 unknown purchase,
1003 not allowed in the purchase's state, 1004 malformed request body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from sandbox import commerce, merchants, purchases, validation
from sandbox.errors import CommerceError, NotFoundError, StateError, ValidationError

PREFIX = "/CheckOut2/CheckOut2Api"
CHECKOUT_METHODS = ["InitializePayment", "UpdateItems", "GetPaymentStatus", "GetPaymentStatusQueue"]
COMMERCE_METHODS = ["PurchaseOrder", "ReturnOrder", "Refund", "RefundRemaining", "CancelPayment"]
CANONICAL_PATHS = [
    *(f"{PREFIX}/{m}" for m in CHECKOUT_METHODS),
    *(f"{PREFIX}/Commerce/{m}" for m in COMMERCE_METHODS),
    "/CheckOut2/Scripts/CheckOutClient.js",
]

VALIDATION_FAILED = 1001
UNKNOWN_PURCHASE = 1002
WRONG_STATE = 1003
MALFORMED = 1004

bp = Blueprint("api", __name__, url_prefix=PREFIX)
commerce_bp = Blueprint("commerce", __name__, url_prefix=f"{PREFIX}/Commerce")


class _Malformed(Exception):
    pass


def _authenticate() -> Response | None:
    auth = request.authorization
    merchant = None
    if auth is not None and auth.type == "basic":
        merchant = merchants.authenticate(auth.username, auth.password)
    if merchant is None:
        return Response(status=401, headers={"WWW-Authenticate": 'Basic realm="Avarda"'})
    g.merchant = merchant
    return None


bp.before_request(_authenticate)
commerce_bp.before_request(_authenticate)


def _body() -> Any:
    try:
        return current_app.json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        raise _Malformed() from None


def _checkout_error(code: int, errors: list[str]) -> tuple[Response, int]:
    return jsonify({"CheckOutErrorCode": code, "Errors": errors}), 400


@bp.errorhandler(_Malformed)
def _malformed(_exc: _Malformed) -> tuple[Response, int]:
    return _checkout_error(MALFORMED, ["The request body is not valid JSON."])


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> tuple[Response, int]:
    return _checkout_error(VALIDATION_FAILED, exc.errors)


@bp.errorhandler(NotFoundError)
def _not_found(exc: NotFoundError) -> tuple[Response, int]:
    return _checkout_error(UNKNOWN_PURCHASE, [exc.message])


@bp.errorhandler(StateError)
def _wrong_state(exc: StateError) -> tuple[Response, int]:
    return _checkout_error(WRONG_STATE, [exc.message])


@bp.post("/InitializePayment")
def initialize_payment() -> Response:
    clean = validation.parse_initialize(_body())
    return jsonify(purchases.initialize(g.merchant, clean))


@bp.post("/UpdateItems")
def update_items() -> Response:
    purchase_id, price, items = validation.parse_update_items(_body())
    purchases.update_items(g.merchant, purchase_id, price, items)
    return Response(status=200)


@bp.post("/GetPaymentStatus")
def get_payment_status() -> Response:
    body = _body()
    if not isinstance(body, dict):
        raise ValidationError(["The request body must be a JSON object."])
    return jsonify(purchases.get_status(body.get("PurchaseId"), g.merchant.id))


def _int(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError([f"{key} must be an integer from {low} to {high}."])
    return value


def _start_date(value: Any) -> datetime:
    """StartDate as "YYYY-MM-DD HH:MM:SS" (or ISO 8601), read as UTC when it has no zone."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValidationError(['StartDate must be a date and time like "2026-11-01 12:00:00".'])


@bp.post("/GetPaymentStatusQueue")
def get_payment_status_queue() -> Response:
    body = _body()
    if not isinstance(body, dict):
        raise ValidationError(["The request body must be a JSON object."])
    offset = _int(body, "Offset", 0, 0, 1_000_000)
    page_size = _int(body, "PageSize", 100, 1, 1000)
    after, start = body.get("PurchaseId"), None
    if after is not None:
        if not isinstance(after, str) or not after:
            raise ValidationError(["PurchaseId must be a string."])
    elif body.get("StartDate") is not None:
        start = _start_date(body["StartDate"])
    else:
        raise ValidationError(["PurchaseId or StartDate is required."])
    return jsonify(purchases.completed_queue(g.merchant, after, start, offset, page_size))


@commerce_bp.errorhandler(CommerceError)
def _commerce_error(exc: CommerceError) -> tuple[Response, int]:
    return jsonify([{"ErrorCode": exc.code, "ErrorMessage": exc.message}]), 400


@commerce_bp.errorhandler(_Malformed)
def _commerce_malformed(_exc: _Malformed) -> tuple[Response, int]:
    return _commerce_error(
        CommerceError(commerce.INVALID_BODY, "The request body is not valid JSON.")
    )


def _commerce_view(kind: str):  # noqa: ANN202
    def view() -> Response:
        body = _body()
        if kind == "CancelPayment":
            commerce.cancel_payment(g.merchant, body)
        else:
            commerce.transact(g.merchant, kind, body)
        return Response(status=200)

    view.__name__ = kind
    return view


for _kind in COMMERCE_METHODS:
    commerce_bp.add_url_rule(f"/{_kind}", view_func=_commerce_view(_kind), methods=["POST"])
