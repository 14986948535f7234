"""Server-side callback delivery: durable rows, leased claims, attempts, retries.

How a delivery survives anything:

* The delivery row is written in the same transaction that completes the purchase
  (:func:`create_deliveries`), so a completed purchase always has its callback queued.
  The worker waits on a :class:`~sandbox.db.CommitWatch`, so it wakes when that
  transaction commits, not at its next poll (the poll only covers later retries).
* A worker *claims* one due row at a time by setting a lease (a random token and an expiry)
  and inserting an attempt row with outcome "sending", then commits and sends with no
  transaction open. Two workers never hold the same lease: the claim runs under SQLite's
  BEGIN IMMEDIATE write lock, or ``FOR UPDATE SKIP LOCKED`` on PostgreSQL.
* If the worker dies (``kill -9``) the lease expires and the next claim marks the dead
  attempt failed ("LeaseExpired") and sends again. Delivery is therefore at least once:
  a receiver may see a duplicate, and must be idempotent (Avarda's callback is, too).
* The lease (SANDBOX_DELIVERY_LEASE_SECONDS) must outlast connect + read timeouts; the
  config refuses anything else.

Only 2xx counts as delivered; redirects are not followed; a URL whose origin (scheme,
host and port) is not on the merchant's ``callback_allowed_origins`` is refused without
any network traffic, and the refusal is recorded as the attempt's outcome. The
Authorization header is never logged nor stored with the attempt.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from flask import current_app

from sandbox import merchants
from sandbox.db import announce, db, transaction, utcnow
from sandbox.errors import NotFoundError, StateError
from sandbox.models import Delivery, DeliveryAttempt, DeliveryStatus, Merchant, Purchase

log = logging.getLogger(__name__)

#: What the delivery worker's :class:`~sandbox.db.CommitWatch` listens to (PostgreSQL).
CHANNEL = "sandbox_deliveries"

SENDING = "sending"
DELIVERED = "delivered"
FAILED = "failed"
REFUSED = "refused"


@dataclass(frozen=True)
class Claim:
    """Everything needed to send one attempt, read while the claim was made."""

    delivery_id: int
    attempt_number: int
    lease_token: str
    purchase_id: str
    url: str
    authorization: str | None
    allowed_origins: tuple[str, ...]
    fail_first_attempts: int


@dataclass(frozen=True)
class Result:
    outcome: str
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None


def delay_before(merchant: Merchant, attempt_in_round: int) -> timedelta:
    """Delay before attempt ``attempt_in_round`` (1-based) of a round."""
    schedule = merchant.retry_schedule_ms or []
    index = attempt_in_round - 1
    ms = schedule[index] if index < len(schedule) else merchant.retry_every_ms
    return timedelta(milliseconds=ms)


def create_deliveries(purchase: Purchase, merchant: Merchant, now: datetime) -> None:
    """Queue the purchase's callback (``callback_copies`` rows) in the caller's transaction."""
    first = now + delay_before(merchant, 1)
    first += timedelta(milliseconds=merchant.first_attempt_delay_ms)
    first += merchants.callback_latency(merchant)
    for copy in range(1, merchant.callback_copies + 1):
        db.session.add(
            Delivery(
                purchase_id=purchase.id,
                merchant_id=merchant.id,
                url=purchase.purchase_completed_callback_url,
                copy_index=copy,
                status=DeliveryStatus.PENDING,
                next_attempt_at=first,
                created_at=now,
            )
        )
    announce(CHANNEL)


def _claim(skip: set[int]) -> Claim | None:
    """Lease the next due delivery not in ``skip`` and open its attempt; None if none due."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SANDBOX_DELIVERY_LEASE_SECONDS"])
    with transaction():
        query = (
            sa.select(Delivery)
            .where(
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at <= now,
                sa.or_(Delivery.lease_expires_at.is_(None), Delivery.lease_expires_at <= now),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if skip:
            query = query.where(Delivery.id.not_in(skip))
        delivery = db.session.scalar(query)
        if delivery is None:
            return None
        for stale in delivery.attempts:
            if stale.outcome == SENDING:
                stale.outcome, stale.error, stale.finished_at = FAILED, "LeaseExpired", now
        delivery.lease_token = secrets.token_hex(16)
        delivery.lease_expires_at = now + lease
        delivery.attempt_count += 1
        delivery.attempts.append(
            DeliveryAttempt(number=delivery.attempt_count, at=now, outcome=SENDING)
        )
        merchant = delivery.merchant
        claim = Claim(
            delivery_id=delivery.id,
            attempt_number=delivery.attempt_count,
            lease_token=delivery.lease_token,
            purchase_id=delivery.purchase_id,
            url=delivery.url,
            authorization=merchants.authorization_header(merchant),
            allowed_origins=tuple(merchants.allowed_origins(merchant)),
            fail_first_attempts=merchant.fail_first_attempts,
        )
    return claim


def _send(claim: Claim) -> Result:
    if not merchants.origin_allowed(claim.url, claim.allowed_origins):
        return Result(REFUSED, error="OriginNotAllowed")
    if claim.attempt_number <= claim.fail_first_attempts:
        return Result(FAILED, error="InjectedFailure")
    headers = {"Content-Type": "application/json", "User-Agent": "AvardaSandbox/1.0"}
    if claim.authorization:
        headers["Authorization"] = claim.authorization
    timeout = (
        current_app.config["SANDBOX_DELIVERY_CONNECT_TIMEOUT"],
        current_app.config["SANDBOX_DELIVERY_READ_TIMEOUT"],
    )
    body = json.dumps({"purchaseId": claim.purchase_id})
    started = time.monotonic()
    with requests.Session() as session:
        session.trust_env = False  # no proxies or .netrc credentials from the environment
        try:
            response = session.post(
                claim.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
        except Exception as exc:
            # Not only RequestException: a header http.client cannot encode raises
            # UnicodeEncodeError. Any failure is a failed attempt, so the schedule and
            # max_attempts still apply. Only the class name: messages may quote headers.
            latency = int((time.monotonic() - started) * 1000)
            return Result(FAILED, latency_ms=latency, error=type(exc).__name__)
        latency = int((time.monotonic() - started) * 1000)
        code = response.status_code
        response.close()
    if 200 <= code < 300:
        return Result(DELIVERED, status_code=code, latency_ms=latency)
    error = "RedirectNotFollowed" if 300 <= code < 400 else "UnexpectedStatus"
    return Result(FAILED, status_code=code, latency_ms=latency, error=error)


def _record(claim: Claim, result: Result) -> None:
    now = utcnow()
    with transaction():
        delivery = db.session.execute(
            sa.select(Delivery).where(Delivery.id == claim.delivery_id).with_for_update()
        ).scalar_one()
        attempt = next(a for a in delivery.attempts if a.number == claim.attempt_number)
        ours = delivery.lease_token == claim.lease_token
        attempt.outcome, attempt.finished_at = result.outcome, now
        attempt.status_code, attempt.latency_ms = result.status_code, result.latency_ms
        attempt.error = result.error
        if ours:
            delivery.lease_token = delivery.lease_expires_at = None
        if result.outcome == DELIVERED:
            if delivery.status != DeliveryStatus.DELIVERED:
                delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
                delivery.next_attempt_at = None
        elif not ours or delivery.status != DeliveryStatus.PENDING:
            pass  # another worker took over after our lease expired: its call
        elif result.outcome == REFUSED:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.REFUSED, None
        else:
            in_round = delivery.attempt_count - delivery.round_base
            if in_round >= delivery.merchant.max_attempts:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.EXHAUSTED, None
            else:
                delivery.next_attempt_at = now + delay_before(delivery.merchant, in_round + 1)
    log.info(
        "callback delivery %s attempt %s for purchase %s to %s: %s status=%s latency_ms=%s%s",
        claim.delivery_id,
        claim.attempt_number,
        claim.purchase_id,
        _safe_url(claim.url),
        result.outcome,
        result.status_code,
        result.latency_ms,
        f" error={result.error}" if result.error else "",
    )


def _safe_url(url: str) -> str:
    """Scheme, host and path only: a query string may carry secrets."""
    try:
        parts = urlsplit(url)
        return (
            f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"
            f"{parts.path}"
        )
    except ValueError:
        return "<invalid url>"


def deliver_due(senders: Executor | None = None, count: int = 1) -> int:
    """Send every delivery that is due now, each at most once; returns the attempts made.

    Alone (no ``senders``) the calling thread sends one callback after another. With an
    executor, ``count`` of its threads send at once, as Avarda does: each takes the next
    due delivery as soon as its previous attempt is recorded, so a slow shop answer does
    not hold up every other callback. Claims are made one at a time; each thread works
    in an app context of its own (its own database session).

    Run in an app context. Safe to run in several threads or processes at once.
    """
    attempted: set[int] = set()
    guard = threading.Lock()

    def send_until_none_due() -> None:
        while True:
            with guard:
                claim = _claim(attempted)
                if claim is None:
                    return
                attempted.add(claim.delivery_id)
            _record(claim, _send(claim))

    if senders is None or count <= 1:
        send_until_none_due()
        return len(attempted)
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def in_app_context() -> None:
        with app.app_context():
            send_until_none_due()

    for future in [senders.submit(in_app_context) for _ in range(count)]:
        future.result()
    return len(attempted)


def redeliver(delivery_id: int) -> Delivery:
    """Start a new round of attempts now (for exhausted, refused or even delivered rows)."""
    with transaction():
        delivery = db.session.scalar(
            sa.select(Delivery).where(Delivery.id == delivery_id).with_for_update()
        )
        if delivery is None:
            raise NotFoundError(f"No delivery {delivery_id}.")
        if delivery.status == DeliveryStatus.PENDING:
            raise StateError("The delivery is still pending; it will be attempted on schedule.")
        delivery.status = DeliveryStatus.PENDING
        delivery.round_base = delivery.attempt_count
        delivery.next_attempt_at = utcnow()
        delivery.lease_token = delivery.lease_expires_at = None
        announce(CHANNEL)
    return delivery


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "url": delivery.url,
        "status": delivery.status,
        "copy": delivery.copy_index,
        "attempt_count": delivery.attempt_count,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "delivered_at": _iso(delivery.delivered_at),
        "attempts": [
            {
                "number": a.number,
                "at": _iso(a.at),
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
                "outcome": a.outcome,
            }
            for a in delivery.attempts
        ],
    }
