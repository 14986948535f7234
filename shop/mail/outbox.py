"""The mailer: sends the e-mails that the confirm step put into the outbox.

One pass, :func:`send_due`, repeats up to ``limit`` times:

1. **Claim** one due e-mail in a short write transaction: the row waiting longest whose
   ``next_attempt_at`` has come, not sent, not given up, and not leased (or whose lease
   has expired). On PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent
   senders take different rows without waiting for each other; on SQLite the
   ``BEGIN IMMEDIATE`` write lock makes claims take turns. The claim increments
   ``attempts``, sets ``lease_until`` and is committed before any I/O.
2. **Send** it through the transport with no transaction open (no lock is held
   while an SMTP server takes its time).
3. **Record** the outcome in a second short transaction: ``sent_at``; or the error in
   ``last_error`` and a retry after a backoff (10 s, 1 min, 5 min, then every 15 min);
   or, after ``max_attempts`` attempts or a permanent error, ``failed_at``. A row given
   up stays in the table (the admin's outbox shows it as failed) and is not retried.

Guarantees, and their caveats:

- **At-least-once, not exactly-once.** A sender killed after handing a message over but
  before recording it (or whose database write fails at that moment) leaves a leased
  row; when the lease expires another sender sends it again and the customer gets a
  duplicate. Nothing is lost. Every attempt of one row carries the same
  ``Message-ID``, which lets mail clients fold such duplicates.
- **Once in normal operation.** A leased row is invisible to other senders, and the
  lease (``LEASE``, 2 min) is much longer than one send should take (the SMTP
  transport's socket timeout is ``MAIL_TIMEOUT``, 10 s by default). A send slower
  than the lease can be duplicated.
- **The latest claim owns the row.** ``attempts`` identifies a claim; a sender
  records its outcome only if the row's ``attempts`` is still the one it claimed. A
  claim whose lease merely ran out still records "sent" (the e-mail did go out;
  refusing would only cause a duplicate), but once another sender has re-claimed the
  row the late result is dropped and the new claimant decides.

Framework-free: every function takes a SQLAlchemy ``Session`` (the CLI command
``send-mail`` passes Flask-SQLAlchemy's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.addresses import one_mailbox
from common.db import utcnow

from ..models import OutboxEmail
from ..transactions import write_transaction
from .transport import MailError, Transport

log = logging.getLogger(__name__)

#: How long a claim keeps other senders away from a row.
LEASE = timedelta(minutes=2)
#: Delay before attempt 2, 3, 4, …; the last one repeats.
BACKOFF = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
)
#: Attempts before an e-mail is given up (about two hours with ``BACKOFF``).
MAX_ATTEMPTS = 10
#: E-mails per pass at most.
BATCH_LIMIT = 100
ERROR_MAX_CHARS = 1000

FailureOutcome = Literal["retrying", "gave_up", "lost_claim"]


@dataclass(frozen=True)
class Claim:
    """A leased outbox row: what to send, and which attempt this is."""

    id: int
    attempt: int
    lease_until: datetime
    kind: str
    to_address: str
    subject: str
    body: str
    created_at: datetime


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    lost_claim: int = 0  # another sender re-claimed the row before we recorded

    def __str__(self) -> str:
        if not self.claimed:
            return "nothing to send"
        return (
            f"sent {self.sent}, retrying {self.retrying}, gave up {self.gave_up}, "
            f"lost claim {self.lost_claim}"
        )


def backoff(attempt: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1-based)."""
    return BACKOFF[min(attempt, len(BACKOFF)) - 1]


def send_due(
    session: Session,
    transport: Transport,
    now: datetime | None = None,
    limit: int = BATCH_LIMIT,
    *,
    sender: str,
    lease: timedelta = LEASE,
    max_attempts: int = MAX_ATTEMPTS,
) -> SendReport:
    """One pass: send up to ``limit`` due e-mails, one at a time (see the module doc).

    ``now`` fixes the clock for the whole pass (tests); by default each step reads the
    time afresh. ``sender`` is the From address (``MAIL_FROM``). Database errors
    propagate; a failing transport never does, it only schedules a retry.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = SendReport()
    for _ in range(limit):
        claim = claim_next(session, clock(), lease)
        if claim is None:
            break
        report.claimed += 1
        error, permanent = _send(transport, claim, sender)
        if error is None:
            if record_sent(session, claim, clock()):
                report.sent += 1
                log.info("outbox e-mail %d sent (attempt %d)", claim.id, claim.attempt)
            else:
                report.lost_claim += 1
                log.warning(
                    "outbox e-mail %d sent, but another sender re-claimed it meanwhile "
                    "(lease expired): it may be sent twice",
                    claim.id,
                )
            continue
        outcome = record_failure(
            session, claim, error, clock(), permanent=permanent, max_attempts=max_attempts
        )
        if outcome == "retrying":
            report.retrying += 1
        elif outcome == "gave_up":
            report.gave_up += 1
        else:
            report.lost_claim += 1
    return report


def claim_next(session: Session, now: datetime, lease: timedelta = LEASE) -> Claim | None:
    """Lease the e-mail that has waited longest among the due ones, and commit."""
    with write_transaction(session):
        row = session.execute(
            sa.select(OutboxEmail)
            .where(
                OutboxEmail.next_attempt_at <= now,
                OutboxEmail.sent_at.is_(None),
                OutboxEmail.failed_at.is_(None),
                sa.or_(OutboxEmail.lease_until.is_(None), OutboxEmail.lease_until <= now),
            )
            .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is None:
            return None
        row.attempts += 1
        row.lease_until = now + lease
        return Claim(
            id=row.id,
            attempt=row.attempts,
            lease_until=row.lease_until,
            kind=row.kind,
            to_address=row.to_address,
            subject=row.subject,
            body=row.body,
            created_at=row.created_at,
        )


def record_sent(session: Session, claim: Claim, now: datetime) -> bool:
    """Mark the e-mail sent if ``claim`` is still the latest claim; True if marked."""
    return _update_if_ours(session, claim, sent_at=now, next_attempt_at=None, lease_until=None)


def record_failure(
    session: Session,
    claim: Claim,
    error: str,
    now: datetime,
    *,
    permanent: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
) -> FailureOutcome:
    """Record a failed attempt: "retrying", "gave_up", or "lost_claim" (not ours)."""
    error = error[:ERROR_MAX_CHARS]
    give_up = permanent or claim.attempt >= max_attempts
    retry_at = None if give_up else now + backoff(claim.attempt)
    values: dict[str, datetime | None] = {"next_attempt_at": retry_at}
    if give_up:
        values["failed_at"] = now
    if not _update_if_ours(session, claim, last_error=error, lease_until=None, **values):
        log.warning(
            "outbox e-mail %d: attempt %d failed after losing its claim", claim.id, claim.attempt
        )
        return "lost_claim"
    if give_up:
        log.error(
            "outbox e-mail %d: giving up after attempt %d: %s", claim.id, claim.attempt, error
        )
        return "gave_up"
    log.warning(
        "outbox e-mail %d: attempt %d failed, retrying at %s: %s",
        claim.id,
        claim.attempt,
        retry_at.isoformat(timespec="seconds") if retry_at else "?",
        error,
    )
    return "retrying"


def build_message(claim: Claim, sender: str) -> EmailMessage:
    """The e-mail for ``claim``. Raises a permanent :class:`MailError` for a recipient
    that is no address (nothing to retry)."""
    mailbox = one_mailbox(claim.to_address)
    if mailbox is None:  # never more than one recipient (``a@x, victim@y``)
        raise MailError("no valid recipient address", permanent=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    try:
        message["From"] = sender
        message["To"] = formataddr(mailbox) if mailbox[0] else mailbox[1]
        message["Subject"] = claim.subject
        message["Date"] = format_datetime(claim.created_at)
        # The same on every attempt, so that a duplicate can be recognised as one.
        message["Message-ID"] = f"<outbox-{claim.id}.{claim.created_at:%Y%m%d%H%M%S}@{domain}>"
        message.set_content(claim.body)
    except (ValueError, TypeError) as exc:
        raise MailError(f"cannot build the message: {exc}", permanent=True) from None
    return message


def _send(transport: Transport, claim: Claim, sender: str) -> tuple[str | None, bool]:
    """(error or None, permanent). Never raises: the claim must be recorded either way."""
    try:
        transport.send(build_message(claim, sender))
    except MailError as exc:
        return str(exc) or "mail error", exc.permanent
    except Exception as exc:
        log.warning("outbox e-mail %d: unexpected transport error", claim.id, exc_info=True)
        return f"{type(exc).__name__}: {exc}", False
    return None, False


def _update_if_ours(session: Session, claim: Claim, **values: object) -> bool:
    with write_transaction(session):
        # An UPDATE's result is a CursorResult (it has ``rowcount``).
        result = cast(
            sa.CursorResult[Any],
            session.execute(
                sa.update(OutboxEmail)
                .where(
                    OutboxEmail.id == claim.id,
                    OutboxEmail.attempts == claim.attempt,
                    OutboxEmail.sent_at.is_(None),
                    OutboxEmail.failed_at.is_(None),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            ),
        )
        return result.rowcount == 1
