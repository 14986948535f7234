"""The notification log: every inbound server callback, rejected ones included.

The callback view records one :class:`CallbackRecord` per request after it has decided
its answer; the back office lists them (``/admin/notifications``). Framework-free: a
SQLAlchemy ``Session`` and plain values. What is recorded is chosen so that the log
can be shown to support staff: never the ``Authorization`` value or the body, only
whether authentication succeeded and the header's scheme word.

Bounded on purpose: anyone can send a refused request, so one process records at most
:data:`REFUSED_PER_MINUTE` of them a minute (:class:`RefusalBudget`; the rest are only
counted in a warning), and :func:`prune_callbacks` deletes rows older than the
retention period (the sweeper calls it, ``CALLBACK_LOG_DAYS``). Authenticated callbacks
are always recorded.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from common.db import fit, max_length

from ..models import AuthResult, CallbackLog
from ..transactions import write_transaction

log = logging.getLogger(__name__)

PAGE_SIZE = 50
#: Refused requests (no or wrong credentials) one process records per minute.
REFUSED_PER_MINUTE = 60
#: Rows one pruning transaction deletes, so that callbacks never wait long for the lock.
PRUNE_BATCH = 2000
_COLUMNS = CallbackLog.__table__.c
#: Built once: a Core INSERT is compiled once and costs little per callback.
_INSERT = cast(sa.Table, CallbackLog.__table__).insert()


class ResultGroup(enum.StrEnum):
    """What the answer told Avarda, by status class."""

    ACCEPTED = "accepted"  # 2xx: done, Avarda stops
    REJECTED = "rejected"  # 4xx: the request was wrong (or the purchase unknown yet)
    RETRY = "retry"  # 5xx: try again later


@dataclass(frozen=True)
class CallbackRecord:
    received_at: datetime
    remote_addr: str | None
    auth: AuthResult
    auth_scheme: str | None
    purchase_id: str | None
    status: int
    outcome: str
    latency_ms: int


def auth_scheme(header: str | None) -> str | None:
    """The first word of an ``Authorization`` header (``Basic``, ``Bearer``), printable
    and cut to the column; never anything after it (the credentials)."""
    if not header:
        return None
    word = header.strip().split(" ", 1)[0]
    word = "".join(c for c in word if c.isprintable() and not c.isspace())
    return word[: max_length(_COLUMNS.auth_scheme)] or None


class RefusalBudget:
    """How many refused requests one process may still record this minute (thread-safe).

    Kept in memory, per process: it bounds what strangers can write to the database
    without costing a query, and a restart only resets the allowance.
    """

    def __init__(
        self, per_minute: int = REFUSED_PER_MINUTE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._window = clock()
        self._used = 0
        self._skipped = 0

    def take(self) -> bool:
        """True if one more refused request may be recorded now."""
        with self._lock:
            now = self._clock()
            if now - self._window >= 60:
                if self._skipped:
                    log.warning(
                        "notification log: %d refused callbacks in a minute were not recorded",
                        self._skipped,
                    )
                self._window, self._used, self._skipped = now, 0, 0
            if self._used < self.per_minute:
                self._used += 1
                return True
            self._skipped += 1
            return False


def _fit(name: str, value: str | None) -> str | None:
    return fit(_COLUMNS[name], value)


def record_callback(
    session: Session, record: CallbackRecord, budget: RefusalBudget | None = None
) -> bool:
    """Store one callback (texts cut to their columns); False when it was a refused
    request beyond ``budget`` and was only counted."""
    if record.auth is not AuthResult.OK and budget is not None and not budget.take():
        return False
    with write_transaction(session):
        session.execute(
            _INSERT,
            {
                "received_at": record.received_at,
                "remote_addr": _fit("remote_addr", record.remote_addr),
                "auth": record.auth,
                "auth_scheme": _fit("auth_scheme", record.auth_scheme),
                "purchase_id": _fit("purchase_id", record.purchase_id),
                "status": record.status,
                "outcome": _fit("outcome", record.outcome) or "",
                "latency_ms": max(0, record.latency_ms),
            },
        )
    return True


def prune_callbacks(session: Session, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete the rows received before ``before``, ``batch`` at a time, each batch its own
    short write transaction; the number deleted."""
    total = 0
    while True:
        oldest = (
            sa.select(CallbackLog.id)
            .where(CallbackLog.received_at < before)
            .order_by(CallbackLog.id)
            .limit(batch)
        )
        with write_transaction(session):
            ids = session.scalars(oldest).all()
            if ids:
                session.execute(sa.delete(CallbackLog).where(CallbackLog.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total


@dataclass(frozen=True)
class CallbackFilters:
    outcome: str = ""
    result: ResultGroup | None = None
    purchase_id: str = ""
    page: int = 1


@dataclass(frozen=True)
class CallbackPage:
    rows: Sequence[CallbackLog]
    total: int
    page: int
    pages: int
    #: Every outcome recorded so far with its count, most frequent first (the filter).
    outcomes: Sequence[tuple[str, int]]
    groups: dict[str, int]


def _group(result: ResultGroup) -> ColumnElement[bool]:
    if result is ResultGroup.ACCEPTED:
        return CallbackLog.status.between(200, 299)
    if result is ResultGroup.REJECTED:
        return CallbackLog.status.between(400, 499)
    return CallbackLog.status >= 500


def list_callbacks(
    session: Session, filters: CallbackFilters, page_size: int = PAGE_SIZE
) -> CallbackPage:
    """Newest first, filtered by outcome word, result group and purchase id."""
    where: list[ColumnElement[bool]] = []
    if filters.outcome:
        where.append(CallbackLog.outcome == filters.outcome)
    if filters.result is not None:
        where.append(_group(filters.result))
    if filters.purchase_id:
        where.append(CallbackLog.purchase_id == filters.purchase_id.strip().lower())
    total = session.scalar(sa.select(sa.func.count(CallbackLog.id)).where(*where)) or 0
    rows = session.scalars(
        sa.select(CallbackLog)
        .where(*where)
        .order_by(CallbackLog.received_at.desc(), CallbackLog.id.desc())
        .offset((filters.page - 1) * page_size)
        .limit(page_size)
    ).all()
    outcomes = session.execute(
        sa.select(CallbackLog.outcome, sa.func.count(CallbackLog.id))
        .group_by(CallbackLog.outcome)
        .order_by(sa.func.count(CallbackLog.id).desc(), CallbackLog.outcome)
    ).all()
    groups = {
        group.value: session.scalar(sa.select(sa.func.count(CallbackLog.id)).where(_group(group)))
        or 0
        for group in ResultGroup
    }
    return CallbackPage(
        rows=rows,
        total=total,
        page=filters.page,
        pages=max(1, math.ceil(total / page_size)),
        outcomes=[(o, n) for o, n in outcomes],
        groups=groups,
    )
