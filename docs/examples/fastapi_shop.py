"""Avarda's callback and the done page in FastAPI, over the core copied as ``payments``.

A sketch for docs/integration-guide.md (a test runs it against the sandbox). Build the
app at start-up with a session factory on an engine that got
``common.db.configure_sqlite``, one ``AvardaClient`` and your settings.
"""

from __future__ import annotations

import html

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from payments.avarda import (
    MAX_BODY,
    PURCHASE_ID,
    AvardaClient,
    CallbackAuthenticator,
    CallbackRejected,
    check_before_reading,
    parse_purchase_completed,
)
from payments.models import ConfirmPath, OrderState
from payments.orders.callback import CallbackAnswer, confirm_callback, refusal
from payments.orders.confirm import confirm_purchase


def create_app(
    sessions: sessionmaker[Session],
    client: AvardaClient,
    authenticator: CallbackAuthenticator,
    *,
    shop_url: str,
) -> FastAPI:
    app = FastAPI()

    @app.post("/avarda/purchase-completed")
    async def purchase_completed(request: Request) -> Response:
        # No body parameter: FastAPI would parse a declared body before this function runs,
        # before the header is checked (a 422 for anyone). Check, then read the raw body.
        try:
            check_before_reading(
                authorization=request.headers.get("authorization"),
                content_type=request.headers.get("content-type"),
                content_length=_content_length(request),
                authenticator=authenticator,
            )
            purchase_id = parse_purchase_completed(await _read_at_most(request, MAX_BODY + 1))
        except CallbackRejected as exc:
            return _respond(refusal(exc))

        def confirm() -> CallbackAnswer:  # blocking: the database and Avarda
            with sessions() as session:
                return confirm_callback(session, client, purchase_id, shop_url=shop_url)

        return _respond(await run_in_threadpool(confirm))

    @app.get("/checkout/done")
    def done(purchaseId: str = "") -> HTMLResponse:  # a plain def runs in the thread pool
        if not PURCHASE_ID.fullmatch(purchaseId):
            return HTMLResponse("That link names no Avarda purchase.", status_code=400)
        with sessions() as session:
            try:
                result = confirm_purchase(
                    session, client, purchaseId, ConfirmPath.BROWSER, shop_url=shop_url
                )
            except SQLAlchemyError:
                session.rollback()
                headers = {"Retry-After": "5"}
                return HTMLResponse("Busy; please reload.", status_code=503, headers=headers)
        if result.order is None:
            return HTMLResponse("We do not know that purchase.", status_code=404)
        number = html.escape(result.order.number)
        if result.state is OrderState.PAID:
            return HTMLResponse(f"<h1>Payment confirmed</h1><p>Order {number}.</p>")
        if result.state is OrderState.PENDING:  # poll a status URL until it is not pending
            return HTMLResponse(f"<h1>Confirming your payment…</h1><p>Order {number}.</p>")
        return HTMLResponse(f"<h1>Order {number}: {html.escape(result.state or '')}</h1>")

    return app


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def _read_at_most(request: Request, limit: int) -> bytes:
    """The body, or its first ``limit`` bytes: FastAPI itself sets no size limit."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) >= limit:
            break
    return body


def _respond(answer: CallbackAnswer) -> Response:
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)
