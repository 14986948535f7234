"""The server API: ``POST /CheckOut2/CheckOut2Api/<Method>`` and ``.../Commerce/<Method>``.

Every call needs HTTP Basic with the site code and site password (401 with an empty body
otherwise). Bodies are read by the models of :mod:`sandbox.wire`, one per method. Checkout
errors answer 400 with ``{"CheckOutErrorCode": n, "Errors": [...]}``, Commerce errors 400
with ``[{"ErrorCode": "...", "ErrorMessage": "..."}]`` (one entry per problem).
Checkout error codes **(sandbox choice)**: 1001 validation, 1002 unknown purchase,
1003 not allowed in the purchase's state, 1004 malformed request body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from sandbox import commerce, merchants, purchases, wire
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
    merchants.api_pause(merchant)
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
    return jsonify(purchases.initialize(g.merchant, wire.parse(wire.InitializePayment, _body())))


@bp.post("/UpdateItems")
def update_items() -> Response:
    purchases.update_items(g.merchant, wire.parse(wire.UpdateItems, _body()))
    return Response(status=200)


@bp.post("/GetPaymentStatus")
def get_payment_status() -> Response:
    request_ = wire.parse(wire.GetPaymentStatus, _body())
    return jsonify(purchases.get_status(request_.purchase_id, g.merchant.id))


@bp.post("/GetPaymentStatusQueue")
def get_payment_status_queue() -> Response:
    request_ = wire.parse(wire.GetPaymentStatusQueue, _body())
    return jsonify(purchases.completed_queue(g.merchant, request_))


@commerce_bp.errorhandler(CommerceError)
def _commerce_error(exc: CommerceError) -> tuple[Response, int]:
    errors = [{"ErrorCode": code, "ErrorMessage": message} for code, message in exc.errors]
    return jsonify(errors), 400


@commerce_bp.errorhandler(_Malformed)
def _commerce_malformed(_exc: _Malformed) -> tuple[Response, int]:
    return _commerce_error(CommerceError(wire.INVALID_FIELD, "The request body is not valid JSON."))


def _commerce_view(kind: str) -> Callable[[], Response]:
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
