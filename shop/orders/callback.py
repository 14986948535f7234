"""What the shop answers Avarda's server-side callback, framework-free.

Avarda retries a callback until it gets a 2xx, so the status tells Avarda whether the
shop is done with the purchase:

- 200 once the shop reached a final decision: paid (now or before), on hold, failed or
  cancelled;
- 401, 400, 413 or 415 for a request the checks of ``avarda/callback.py`` refused (401
  with ``WWW-Authenticate``; nothing was read or changed);
- 404 when no order has the purchase id (perhaps not committed yet: Avarda retries);
- 503 with ``Retry-After`` when Avarda's status could not be fetched, does not say
  Completed yet, says something the shop cannot act on (recorded on the order for a
  person), the database is busy, or the confirm step failed in any other way (logged).

Never a 2xx for something not done, never a 500. A web framework turns a
:class:`CallbackAnswer` into its response: the body as JSON, the status, the headers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..avarda import WWW_AUTHENTICATE, AvardaClient, CallbackRejected
from ..models import ConfirmPath
from .confirm import ConfirmOutcome, confirm_purchase

log = logging.getLogger(__name__)

#: Seconds Avarda is asked to wait before retrying a 503.
RETRY_AFTER = 60


@dataclass(frozen=True)
class CallbackAnswer:
    """The response to send: ``body`` as JSON with ``status`` and ``headers``.

    ``outcome`` is one word for the notification log: the confirm step's outcome
    (``confirmed_now``, …), a refusal's error word (``unauthorized``, …), ``busy`` or
    ``error``.
    """

    status: int
    body: dict[str, Any]
    outcome: str
    headers: dict[str, str] = field(default_factory=dict)


def _answer(status: int, logged: str, error: str | None = None, **fields: Any) -> CallbackAnswer:
    body = {"error": error, **fields} if error else fields
    headers: dict[str, str] = {}
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER)
    if status == 401:
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return CallbackAnswer(status, body, logged, headers)


def refusal(exc: CallbackRejected) -> CallbackAnswer:
    """The answer to a request the callback's checks refused."""
    return _answer(exc.status, exc.error, exc.error, message=exc.message)


_WAITING = {
    ConfirmOutcome.AVARDA_UNAVAILABLE: "Avarda's status could not be fetched.",
    ConfirmOutcome.NEEDS_ATTENTION: "Avarda's answer needs a person; it was recorded.",
}


def confirm_callback(
    session: Session, client: AvardaClient, purchase_id: str, *, shop_url: str
) -> CallbackAnswer:
    """Run the confirm step for an accepted callback and say what to answer.

    Never raises for a failure of the step: a database error ("busy") or any other
    exception ("error", a bug or a broken setting) is logged without the request's
    headers, the session rolled back, and answered 503 so that Avarda retries.
    """
    try:
        result = confirm_purchase(
            session, client, purchase_id, ConfirmPath.CALLBACK, shop_url=shop_url
        )
    except SQLAlchemyError:
        log.exception("callback for %s: database error; Avarda will retry", purchase_id)
        session.rollback()
        return _answer(503, "busy", "busy", message="Try again later.", purchaseId=purchase_id)
    except Exception:
        log.exception("callback for %s: confirm step failed; Avarda will retry", purchase_id)
        session.rollback()
        return _answer(503, "error", "error", message="Try again later.", purchaseId=purchase_id)

    outcome = result.outcome
    if outcome is ConfirmOutcome.UNKNOWN_PURCHASE:
        return _answer(404, outcome, "unknown_purchase", purchaseId=purchase_id)
    if result.is_done and result.order is not None:
        return _answer(
            200, outcome, purchaseId=purchase_id, outcome=outcome.value, state=result.order.state
        )
    message = _WAITING.get(outcome, "Avarda does not report this purchase as completed yet.")
    return _answer(503, outcome, outcome.value, message=message, purchaseId=purchase_id)
