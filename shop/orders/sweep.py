"""The sweep: confirm pending orders whose notifications never arrived.

Each run takes the pending orders older than ``min_age`` seconds (the oldest
``BATCH_LIMIT`` of them, plus every one whose purchase Avarda's GetPaymentStatusQueue
lists as completed since the oldest) and runs the confirm step for each, listed
purchases first. Younger orders are left alone even when listed, so that the live paths
(the callback, the browser) get their chance and the order page can tell honestly
which path confirmed it. The confirm step marks an order failed once Avarda reports
its purchase dead (for example SessionTimedOut for an abandoned checkout), and leaves
it pending otherwise.

Safe on several hosts at once, and the work is split: a pass claims its candidates a
few at a time (``CLAIM_CHUNK``) with a lease on each order (``sweep_claimed_until``,
``SWEEP_LEASE``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite), so
two sweepers never ask Avarda about the same order in one pass. Every decision is still
taken by the confirm step under the order's row lock, so a sweeper and a callback (or a
sweeper whose lease ran out) working on the same order change it once. A sweeper that
dies leaves its claims to expire.

Framework-free like the confirm step: a ``Session``, the Avarda client and plain values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.db import utcnow

from ..avarda import AvardaClient, AvardaError
from ..models import ConfirmPath, Order, OrderState
from ..transactions import end_read, write_transaction
from .confirm import ConfirmOutcome, confirm_purchase

log = logging.getLogger(__name__)

QUEUE_PAGE = 100
QUEUE_MAX_PAGES = 20
QUEUE_SLACK = timedelta(minutes=5)
BATCH_LIMIT = 500
CLAIM_CHUNK = 20
SWEEP_LEASE = timedelta(minutes=10)


@dataclass
class SweepReport:
    checked: int = 0
    hinted: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    def count(self, outcome: ConfirmOutcome) -> None:
        self.outcomes[outcome.value] = self.outcomes.get(outcome.value, 0) + 1

    def __str__(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "nothing"
        return f"checked {self.checked} (hinted {self.hinted}): {parts}; errors {self.errors}"


def sweep(
    session: Session,
    client: AvardaClient,
    *,
    min_age: float,
    shop_url: str,
    now: datetime | None = None,
) -> SweepReport:
    """One pass over the pending orders older than ``min_age`` seconds
    (``RECONCILE_MIN_AGE``); ``shop_url`` is passed on to the confirm step.

    Candidates are the ``BATCH_LIMIT`` oldest due orders plus every due order whose
    purchase the queue lists, those first: a batch full of orders that never finish
    (abandoned forms, purchases Avarda does not know) must not hide a newer paid one.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=min_age)
    due = (
        sa.select(Order.purchase_id, Order.created_at)
        .where(
            Order.state == OrderState.PENDING,
            Order.purchase_id.is_not(None),
            Order.created_at <= cutoff,
        )
        .order_by(Order.created_at, Order.id)
    )
    oldest = session.execute(due.limit(BATCH_LIMIT)).all()
    end_read(session)
    report = SweepReport()
    if not oldest:
        return report

    completed = set(_completed_since(client, oldest[0].created_at - QUEUE_SLACK))
    hinted: list[str] = []
    if completed:
        hinted = [
            pid
            for pid in session.scalars(due.where(Order.purchase_id.in_(completed)))
            if pid is not None
        ]
        end_read(session)
    report.hinted = len(hinted)
    listed = set(hinted)
    rest = [pid for pid, _created in oldest if pid is not None and pid not in listed]

    candidates = [*hinted, *rest]
    for start in range(0, len(candidates), CLAIM_CHUNK):
        for purchase_id in claim(session, candidates[start : start + CLAIM_CHUNK]):
            report.checked += 1
            try:
                result = confirm_purchase(
                    session, client, purchase_id, ConfirmPath.SWEEP, shop_url=shop_url
                )
            except Exception:
                report.errors += 1
                session.rollback()
                log.exception("sweep: confirming %s failed", purchase_id)
                continue
            report.count(result.outcome)
    return report


def claim(session: Session, purchase_ids: list[str]) -> list[str]:
    """The pending orders among ``purchase_ids`` that no other sweeper holds, now held by
    this one for ``SWEEP_LEASE``; in the given order. Orders another transaction has
    locked (a callback confirming one) are skipped too: they are being looked at."""
    if not purchase_ids:
        return []
    clock = utcnow()
    with write_transaction(session):
        rows = session.execute(
            sa.select(Order.id, Order.purchase_id)
            .where(
                Order.purchase_id.in_(purchase_ids),
                Order.state == OrderState.PENDING,
                sa.or_(Order.sweep_claimed_until.is_(None), Order.sweep_claimed_until <= clock),
            )
            .with_for_update(skip_locked=True)
        ).all()
        if rows:
            session.execute(
                sa.update(Order)
                .where(Order.id.in_([row.id for row in rows]))
                .values(sweep_claimed_until=clock + SWEEP_LEASE, updated_at=Order.updated_at)
            )
    mine = {row.purchase_id for row in rows}
    return [pid for pid in purchase_ids if pid in mine]


def _completed_since(client: AvardaClient, start: datetime) -> list[str]:
    """Purchase ids Avarda reports completed since ``start``; [] when it cannot say."""
    ids: list[str] = []
    try:
        for page in range(QUEUE_MAX_PAGES):
            batch = client.get_payment_status_queue(
                start_date=start, offset=page * QUEUE_PAGE, page_size=QUEUE_PAGE
            )
            ids.extend(batch)
            if len(batch) < QUEUE_PAGE:
                break
    except AvardaError as exc:
        log.info("sweep: GetPaymentStatusQueue unavailable (%s); checking by age only", exc)
    return ids
