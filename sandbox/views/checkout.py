"""The customer's side: CheckOutClient.js, the checkout form in its iframe, and the pages
of the external steps (card issuer, bank, Signicat e-ID signing, BankID).

The form's JSON endpoints are exempt from CSRF tokens (the form lives in a third-party
iframe, where the sandbox's session cookie may not be sent); they demand a JSON body,
which a cross-site form cannot send without a CORS preflight the sandbox never grants,
and they only act on a purchase whose 128-bit random id the caller knows, like Avarda.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_pascal
from werkzeug.wrappers import Response as BaseResponse

from sandbox import merchants, purchases, wire
from sandbox.errors import FieldErrors, ForbiddenError, NotFoundError, StateError
from sandbox.models import IN_CHECKOUT, Method, Purchase
from sandbox.views import security
from sandbox.views.display import format_money

bp = Blueprint("checkout", __name__, url_prefix="/CheckOut2")

NOTICE = (
    "Purchase completed. Returning you to the shop in {n} s. "
    "Close this tab to see the server-side callback at work."
)
FAILED_NOTICE = "{message} Returning you to the shop in {n} s."

#: The form's methods: (value, label, the name beforeCompleteHook gets as
#: selectedPaymentMethod, from Avarda's list). "Fail" is the sandbox's fault: an invoice
#: whose credit check fails.
FORM_METHODS = [
    ("Invoice", "Invoice", "Invoice"),
    ("Loan", "Loan", "Loan"),
    ("PartPayment", "Part payment", "PartPayment"),
    ("Card", "Card", "Card"),
    ("DirectPayment", "Direct payment", "DirectBank"),
    ("Fail", "Fail payment", "Invoice"),
]
#: deliveryCountry in beforeCompleteHook is a country name.
COUNTRY_NAMES = {"SE": "Sweden", "FI": "Finland", "NO": "Norway", "DK": "Denmark"}

#: The pretend page of each external step: (endpoint, title).
STEP_PAGES: dict[Method, tuple[str, str]] = {
    Method.CARD: ("checkout.card_issuer", "Card issuer"),
    Method.DIRECT_PAYMENT: ("checkout.bank", "Your bank"),
    Method.LOAN: ("checkout.signicat", "Signicat e-ID signing"),
    Method.PART_PAYMENT: ("checkout.bank_id", "BankID"),
}


def http_url(value: Any, limit: int = 2000) -> str | None:
    """``value`` if it is an absolute http(s) URL, else None (never a javascript: URL)."""
    if not isinstance(value, str) or not value or len(value) > limit:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in {"http", "https"} and parts.netloc else None


def with_callback_params(url: str, purchase_id: str) -> str:
    """``url`` with ``callback=1&purchaseId=<id>`` appended (replacing earlier values)."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in {"callback", "purchaseId"}
    ]
    query += [("callback", "1"), ("purchaseId", purchase_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@bp.get("/Scripts/CheckOutClient.js")
def client_script() -> Response:
    assert current_app.static_folder is not None
    response = send_from_directory(
        current_app.static_folder, "CheckOutClient.js", mimetype="text/javascript", max_age=0
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _customer(purchase: Purchase) -> dict[str, str]:
    """The form's prefilled values: the purchase's own, else the editable demo customer."""
    values = {}
    for column in purchases.CUSTOMER_COLUMNS:
        value = getattr(purchase, column)
        if value is None:
            value = purchases.DEMO_CUSTOMER.get(column)
        values[to_pascal(column)] = value or ""
    return values


def _external_url(purchase_id: str, method: Method) -> str:
    return url_for(STEP_PAGES[method][0], purchase_id=purchase_id, _external=True)


@bp.get("/Checkout/<purchase_id>")
def form(purchase_id: str) -> Response:
    """The checkout form, rendered inside the iframe that CheckOutClient.js creates.

    Only pages of the merchant's allowed origins may frame it (``frame-ancestors``), and
    only their ``callbackUrl`` and ``purchaseCompletedCallbackUrl`` are taken.
    """
    parent = wire.origin_of(request.args.get("origin"))
    if parent is None:
        abort(400, "The checkout form is opened by CheckOutClient.js, not directly.")
    css_url = http_url(request.args.get("customCssUrl"))
    try:
        purchase = purchases.open_form(
            purchase_id,
            http_url(request.args.get("callbackUrl")),
            http_url(request.args.get("purchaseCompletedCallbackUrl")),
            parent,
        )
    except NotFoundError:
        purchase = None
    except ForbiddenError as exc:
        page = render_template("sandbox/message.html", title="Avarda Checkout", message=exc.message)
        refused = make_response(page, 403)
        refused.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        refused.headers["X-Frame-Options"] = "DENY"
        return refused
    message = None
    if purchase is not None and purchase.state in purchases.DEAD:
        message = purchases.dead_message(purchase)
    elif purchase is not None and purchase.state in IN_CHECKOUT:
        message = purchase.status_message  # a declined step: choose another method
    html = render_template(
        "sandbox/checkout_form.html",
        purchase=purchase,
        purchase_id=purchase_id,
        customer=_customer(purchase) if purchase else {},
        parent_origin=parent,
        message=message,
        methods=FORM_METHODS,
        phone_max=wire.PHONE_MAX,
        country_name=COUNTRY_NAMES.get(purchase.country_code or "SE", "") if purchase else "",
        custom_css=css_url,
        replace_css=request.args.get("replaceDefaultCss") == "1",
    )
    response = make_response(html, 200 if purchase else 404)
    style_src = " ".join(filter(None, ["'self'", wire.origin_of(css_url)]))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; style-src {style_src}; img-src 'self' data:; "
        f"frame-ancestors {parent}; form-action 'self'; base-uri 'none'"
    )
    return response


def _outcome_json(outcome: purchases.Outcome) -> dict[str, Any]:
    """What the form does next. A result (completed, or failed: Error, timed out,
    cancelled) means the customer is done with the form: ``done`` follows, unless the
    merchant's faults delay it or suppress it."""
    body: dict[str, Any] = {"status": outcome.action, "purchaseId": outcome.purchase_id}
    if outcome.action in {"completed", "failed"}:
        merchant = purchases.get_purchase(outcome.purchase_id).merchant
        body["callDone"] = not merchant.never_call_done
        body["doneDelaySeconds"] = merchant.done_delay_seconds
        if merchant.done_delay_seconds and outcome.action == "completed":
            body["notice"] = NOTICE.format(n=merchant.done_delay_seconds)
        elif merchant.done_delay_seconds:
            body["notice"] = FAILED_NOTICE.format(
                message=outcome.message or "", n=merchant.done_delay_seconds
            )
    if outcome.redirect_url:
        body["url"] = outcome.redirect_url
    if outcome.message:
        body["message"] = outcome.message
    return body


def _json_request() -> dict[str, Any]:
    if not request.is_json:
        abort(415, "Send JSON.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "The request body must be a JSON object.")
    return body


def _invalid(errors: list[str], fields: dict[str, str]) -> tuple[Response, int]:
    """The form's fields to fix: ``fields`` maps a wire name to "missing" or "wrong"; the
    form shows its own words for each next to the field (``errors`` is for API readers)."""
    return jsonify({"status": "invalid", "errors": errors, "fields": fields}), 400


@bp.post("/Checkout/<purchase_id>/Complete")
def complete(purchase_id: str) -> Response | tuple[Response, int]:
    """The form's **Complete purchase**: commit first, then tell the browser what to do."""
    try:
        completion = wire.Completion.model_validate(_json_request())
    except PydanticValidationError as exc:
        fields = {
            str(error["loc"][0]): "wrong"
            for error in exc.errors(include_url=False, include_input=False)
            if error["loc"] and str(error["loc"][0]) in wire.FORM_FIELDS
        }
        return _invalid(wire.problems(exc), fields)
    try:
        outcome = purchases.complete(purchase_id, completion, external_url=_external_url, form=True)
    except FieldErrors as exc:
        return _invalid(exc.errors, exc.fields)
    except NotFoundError as exc:
        return jsonify({"status": "failed", "message": exc.message}), 404
    except StateError as exc:
        return jsonify({"status": "failed", "message": exc.message}), 409
    return jsonify(_outcome_json(outcome))


@bp.post("/Checkout/<purchase_id>/Resume")
def resume(purchase_id: str) -> Response | tuple[Response, int]:
    """``init`` was called again (back from an external step, or a reload)."""
    _json_request()
    try:
        outcome = purchases.resume(purchase_id)
    except NotFoundError as exc:
        return jsonify({"status": "failed", "message": exc.message}), 404
    body = _outcome_json(outcome)
    if outcome.action == "waiting":
        method = purchases.METHOD_WAITING_IN[outcome.state]
        body["url"] = _external_url(outcome.purchase_id, method)
    return jsonify(body)


@bp.get("/Checkout/<purchase_id>/Summary")
def summary(purchase_id: str) -> Response:
    """The cart as the form shows it (re-read after the shop's ``updateItems()``)."""
    try:
        purchase = purchases.get_purchase(purchase_id)
    except NotFoundError:
        abort(404)
    return jsonify(
        {
            "price": purchase.price,
            "priceText": format_money(purchase.price, purchase),
            "items": [
                item.as_json() | {"AmountText": format_money(item.amount, purchase)}
                for item in purchase.items
            ],
            "state": purchase.state,
        }
    )


def _external_step(purchase_id: str, method: Method) -> BaseResponse | tuple[str, int]:
    """The pretend page of ``method``'s step: Approve, Decline (back to the form) or Fail
    (the purchase ends in Error); the browser then returns to the shop's callbackUrl."""
    title = STEP_PAGES[method][1]
    if request.method == "POST":
        decision = request.form.get("decision")
        if decision not in {"approve", "decline", "fail"}:
            abort(400, "Choose Approve, Decline or Fail.")
        try:
            purchase = purchases.decide(purchase_id, decision, method)
        except NotFoundError:
            abort(404, "Unknown purchase.")
        except StateError as exc:
            return render_template("sandbox/message.html", title=title, message=exc.message), 409
        allowed = merchants.allowed_origins(purchase.merchant)
        if purchase.callback_url and merchants.origin_allowed(purchase.callback_url, allowed):
            return redirect(with_callback_params(purchase.callback_url, purchase.id), 303)
        return render_template(
            "sandbox/message.html",
            title=title,
            message="Answered. The shop gave no callbackUrl on its allowed origins in init, "
            "so the browser cannot return to it; the purchase waits for init to be called "
            "again.",
        ), 200
    try:
        purchase = purchases.get_purchase(purchase_id)
    except NotFoundError:
        abort(404, "Unknown purchase.")
    step = purchases.STEPS[method]
    if purchase.state != step.state or purchase.external_approved is not None:
        message = "There is no payment step waiting here for this purchase."
        return render_template("sandbox/message.html", title=title, message=message), 409
    page = make_response(
        render_template(
            "sandbox/external_step.html", purchase=purchase, title=title, method=method.name
        )
    )
    allowed = merchants.allowed_origins(purchase.merchant)
    page.headers["Content-Security-Policy"] = security.csp(form_action=allowed)
    page.headers["X-Frame-Options"] = "DENY"
    return page


@bp.route("/CardIssuer/<purchase_id>", methods=["GET", "POST"])
def card_issuer(purchase_id: str) -> BaseResponse | tuple[str, int]:
    """The 3-D Secure page of a pretend card issuer (purchase waits in state 6)."""
    return _external_step(purchase_id, Method.CARD)


@bp.route("/Bank/<purchase_id>", methods=["GET", "POST"])
def bank(purchase_id: str) -> BaseResponse | tuple[str, int]:
    """A pretend Finnish bank's payment page (purchase waits in state 9)."""
    return _external_step(purchase_id, Method.DIRECT_PAYMENT)


@bp.route("/Signicat/<purchase_id>", methods=["GET", "POST"])
def signicat(purchase_id: str) -> BaseResponse | tuple[str, int]:
    """Signing the loan agreement with an e-ID at a pretend Signicat (state 4)."""
    return _external_step(purchase_id, Method.LOAN)


@bp.route("/BankId/<purchase_id>", methods=["GET", "POST"])
def bank_id(purchase_id: str) -> BaseResponse | tuple[str, int]:
    """Waiting for a pretend BankID app to identify the customer (state 7)."""
    return _external_step(purchase_id, Method.PART_PAYMENT)
