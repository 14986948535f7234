"""Avarda's callback and the done page in Django, over the core copied as ``payments``.

A sketch for docs/integration-guide.md (a test runs it against the sandbox). In your
``urls.py``: ``urlpatterns += avarda_urls(Payments(...))``, built once at start-up with a
session factory on an engine that got ``common.db.configure_sqlite``, one
``AvardaClient`` and your settings. The views are plain (synchronous) views: Django runs
them in a thread under ASGI too. The core uses SQLAlchemy, not Django's ORM.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from payments.avarda import (
    PURCHASE_ID,
    AvardaClient,
    CallbackAuthenticator,
    CallbackRejected,
    accept_purchase_completed,
)
from payments.models import ConfirmPath, OrderState
from payments.orders.callback import CallbackAnswer, confirm_callback, refusal
from payments.orders.confirm import confirm_purchase


@dataclass(frozen=True)
class Payments:
    sessions: sessionmaker[Session]
    client: AvardaClient
    authenticator: CallbackAuthenticator
    shop_url: str


def avarda_urls(payments: Payments) -> list[URLPattern]:
    @csrf_exempt  # Avarda has no CSRF token: the Authorization header is checked instead
    @require_POST
    def purchase_completed(request: HttpRequest) -> HttpResponse:
        try:
            purchase_id = accept_purchase_completed(
                authorization=request.headers.get("Authorization"),
                content_type=request.headers.get("Content-Type"),
                content_length=_content_length(request),
                # The stream, not request.body: nothing is read before the header checks.
                read_body=request.read,
                authenticator=payments.authenticator,
            )
        except CallbackRejected as exc:
            return _respond(refusal(exc))
        with payments.sessions() as session:
            answer = confirm_callback(
                session, payments.client, purchase_id, shop_url=payments.shop_url
            )
        return _respond(answer)

    @require_GET
    def done(request: HttpRequest) -> HttpResponse:
        purchase_id = request.GET.get("purchaseId", "")
        if not PURCHASE_ID.fullmatch(purchase_id):
            return HttpResponse("That link names no Avarda purchase.", status=400)
        with payments.sessions() as session:
            try:
                result = confirm_purchase(
                    session,
                    payments.client,
                    purchase_id,
                    ConfirmPath.BROWSER,
                    shop_url=payments.shop_url,
                )
            except SQLAlchemyError:
                session.rollback()
                headers = {"Retry-After": "5"}
                return HttpResponse("Busy; please reload.", status=503, headers=headers)
        if result.order is None:
            return HttpResponse("We do not know that purchase.", status=404)
        number = escape(result.order.number)
        if result.state is OrderState.PAID:
            return HttpResponse(f"<h1>Payment confirmed</h1><p>Order {number}.</p>")
        if result.state is OrderState.PENDING:  # poll a status URL until it is not pending
            return HttpResponse(f"<h1>Confirming your payment…</h1><p>Order {number}.</p>")
        return HttpResponse(f"<h1>Order {number}: {escape(result.state or '')}</h1>")

    return [
        path("avarda/purchase-completed", purchase_completed),
        path("checkout/done", done),
    ]


def _content_length(request: HttpRequest) -> int | None:
    value = request.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _respond(answer: CallbackAnswer) -> HttpResponse:
    return JsonResponse(answer.body, status=answer.status, headers=answer.headers)
