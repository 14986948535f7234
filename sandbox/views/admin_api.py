"""The sandbox's admin JSON API (HTTP Basic with SANDBOX_ADMIN_USERNAME/PASSWORD).

Inspect purchases (with their Commerce amounts) and their callback deliveries, complete a
purchase as a scripted customer (the same service calls and transactions as the browser
form), answer its external step, let it time out, read and change merchant settings and
faults, and redeliver a callback.
"""

from __future__ import annotations

import hmac
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request

from sandbox import delivery, logins, merchants, purchases, wire
from sandbox.db import db
from sandbox.errors import NotFoundError, StateError, ValidationError
from sandbox.models import Delivery, Purchase

bp = Blueprint("admin_api", __name__, url_prefix="/CheckOut2/Sandbox/Api")


def admin_credentials_ok(username: str | None, password: str | None) -> bool:
    """Constant-time check; with no admin password configured nobody gets in."""
    expected_user = current_app.config["SANDBOX_ADMIN_USERNAME"] or ""
    expected_password = current_app.config["SANDBOX_ADMIN_PASSWORD"] or ""
    if not expected_password or username is None or password is None:
        return False
    user_ok = hmac.compare_digest(username.encode(), expected_user.encode())
    password_ok = hmac.compare_digest(password.encode(), expected_password.encode())
    return user_ok and password_ok


def _unauthorized() -> Response:
    response = jsonify({"error": "Unauthorized", "message": "Sandbox admin login required."})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Basic realm="Avarda sandbox admin"'
    return response


@bp.before_request
def _authenticate() -> Response | None:
    """Basic auth on every call, throttled like the dashboard's login form (a request
    without credentials is not counted as a failure)."""
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return _unauthorized()
    result = logins.attempt(
        auth.username,
        request.remote_addr,
        lambda: admin_credentials_ok(auth.username, auth.password),
    )
    if result.retry_after is not None:
        response = jsonify(
            {"error": "Too Many Requests", "message": "Too many failed logins; try again later."}
        )
        response.status_code = 429
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if not result.ok:
        return _unauthorized()
    return None


def _error(status: int, message: str, errors: list[str] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return jsonify(body), status


@bp.errorhandler(NotFoundError)
def _not_found(exc: NotFoundError) -> tuple[Response, int]:
    return _error(404, exc.message)


@bp.errorhandler(StateError)
def _conflict(exc: StateError) -> tuple[Response, int]:
    return _error(409, exc.message)


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError) -> tuple[Response, int]:
    return _error(400, exc.message, exc.errors)


def _json_body() -> Any:
    try:
        return current_app.json.loads(request.get_data(cache=False) or b"{}")
    except ValueError:
        raise ValidationError(["The request body is not valid JSON."]) from None


@bp.get("/Purchases")
def list_purchases() -> Response:
    """The newest purchases (``?limit=``, at most 200), without deliveries."""
    limit = request.args.get("limit", default=50, type=int)
    limit = max(1, min(limit, 200))
    rows = db.session.scalars(
        sa.select(Purchase).order_by(Purchase.created_at.desc()).limit(limit)
    ).all()
    return jsonify([purchases.status_json(p) | {"SiteCode": p.merchant.site_code} for p in rows])


@bp.get("/Purchases/<purchase_id>")
def get_purchase(purchase_id: str) -> Response:
    return _purchase(purchase_id)


def _purchase(purchase_id: str) -> Response:
    return jsonify(purchases.admin_json(purchases.get_purchase(purchase_id)))


@bp.post("/Purchases/<purchase_id>/Complete")
def complete_purchase(purchase_id: str) -> Response:
    """The scripted customer: ``PaymentMethod`` (Invoice, Loan, PartPayment, Card,
    DirectPayment or Fail), customer fields, ``PurchaseCompletedCallbackUrl`` and ``Step``:
    how the external step answers (approve, decline, fail) or "wait" to leave it waiting."""
    body = wire.parse(wire.ScriptedCompletion, _json_body())
    purchases.complete(
        purchase_id,
        body,
        completed_callback_url=body.purchase_completed_callback_url,
        scripted_step=body.step,
    )
    return _purchase(purchase_id)


@bp.post("/Purchases/<purchase_id>/Step")
def answer_step(purchase_id: str) -> Response:
    """The external step a purchase waits for answers ``{"Decision": approve|decline|fail}``
    (as its pretend page would); an approved purchase completes on :func:`resume_purchase`."""
    purchases.decide(purchase_id, wire.parse(wire.StepDecision, _json_body()).decision)
    return _purchase(purchase_id)


@bp.post("/Purchases/<purchase_id>/Resume")
def resume_purchase(purchase_id: str) -> Response:
    """The shop's page calls ``init`` again for the purchase (back through callbackUrl)."""
    purchases.resume(purchase_id)
    return _purchase(purchase_id)


@bp.post("/Purchases/<purchase_id>/Expire")
def expire_purchase(purchase_id: str) -> Response:
    """The purchase times out now, in whatever checkout or waiting state it is."""
    purchases.expire(purchase_id)
    return _purchase(purchase_id)


@bp.get("/Merchants/<site_code>")
def get_merchant(site_code: str) -> Response:
    return jsonify(merchants.settings(merchants.get(site_code)))


@bp.put("/Merchants/<site_code>")
def put_merchant(site_code: str) -> Response:
    return jsonify(merchants.update(site_code, _json_body()))


@bp.get("/Deliveries/<int:delivery_id>")
def get_delivery(delivery_id: int) -> Response:
    found = db.session.get(Delivery, delivery_id)
    if found is None:
        raise NotFoundError(f"No delivery {delivery_id}.")
    return jsonify(delivery.delivery_json(found))


@bp.post("/Deliveries/<int:delivery_id>/Redeliver")
def redeliver(delivery_id: int) -> Response:
    return jsonify(delivery.delivery_json(delivery.redeliver(delivery_id)))
