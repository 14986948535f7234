"""What the back office reads: the orders list (search, filters, pages, counts per state),
the "needs attention" reasons, and one order with everything that happened to it.

Framework-free, like every core service: a SQLAlchemy ``Session`` and plain arguments;
the views build no SQL. Nothing here writes.

**Needs attention** is a set of named SQL conditions on ``Order``
(:func:`attention_conditions`). The list's "needs attention" view is their OR, and each
row shows which of them hold, so adding a reason is one entry in that mapping (and its
words in ``templates/admin/_attention.html``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from common.db import max_length

from ..models import (
    ActionStatus,
    CommerceAction,
    ConfirmPath,
    Order,
    OrderEvent,
    OrderState,
    OutboxEmail,
    Product,
)

#: Orders per page of the list.
PAGE_SIZE = 50
#: Longest search text looked at (more is cut, never an error).
QUERY_MAX = 120


class Attention(enum.StrEnum):
    """Why an order needs a person to look at it."""

    ON_HOLD = "on_hold"
    PENDING_TOO_LONG = "pending_too_long"
    COMMERCE_UNCONFIRMED = "commerce_unconfirmed"
    COMMERCE_REFUSED = "commerce_refused"
    EMAIL_FAILED = "email_failed"
    UNDELIVERED = "undelivered"
    AVARDA_ANSWER = "avarda_answer"  # Avarda said something the shop cannot act on


@dataclass(frozen=True)
class AttentionRules:
    """The clock and the ages behind the time-based reasons.

    ``pending_age``: a pending order older than this has outlived the sweep's own wait
    (``RECONCILE_MIN_AGE``) and was still not confirmed. ``undelivered_age``: a paid
    order still not delivered in full after this long (``UNDELIVERED_ALERT_DAYS``).
    """

    now: datetime
    pending_age: timedelta
    undelivered_age: timedelta


def attention_conditions(rules: AttentionRules) -> dict[Attention, ColumnElement[bool]]:
    """One SQL condition on ``Order`` per reason (see the module docstring)."""
    action = aliased(CommerceAction)
    latest_action_status = (
        sa.select(action.status)
        .where(action.order_id == Order.id)
        .order_by(action.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    unconfirmed = sa.exists().where(
        CommerceAction.order_id == Order.id,
        sa.or_(
            CommerceAction.status == ActionStatus.UNKNOWN.value,
            sa.and_(
                CommerceAction.status == ActionStatus.REQUESTED.value,
                CommerceAction.lease_until < rules.now,
            ),
        ),
    )
    authorized = sa.func.coalesce(Order.avarda_price_minor, Order.total_minor)
    return {
        Attention.ON_HOLD: Order.state == OrderState.ON_HOLD.value,
        Attention.PENDING_TOO_LONG: sa.and_(
            Order.state == OrderState.PENDING.value,
            Order.created_at <= rules.now - rules.pending_age,
        ),
        Attention.COMMERCE_UNCONFIRMED: unconfirmed,
        Attention.COMMERCE_REFUSED: latest_action_status == ActionStatus.REFUSED.value,
        Attention.EMAIL_FAILED: sa.exists().where(
            OutboxEmail.order_id == Order.id, OutboxEmail.failed_at.is_not(None)
        ),
        Attention.UNDELIVERED: sa.and_(
            Order.state == OrderState.PAID.value,
            Order.closed_at.is_(None),
            Order.confirmed_at <= rules.now - rules.undelivered_age,
            Order.delivered_minor + Order.released_minor < authorized,
        ),
        Attention.AVARDA_ANSWER: Order.avarda_problem.is_not(None),
    }


@dataclass(frozen=True)
class OrderFilters:
    """The list's query: search text, state, confirming path, attention only, page."""

    q: str = ""
    state: OrderState | None = None
    confirmed_by: ConfirmPath | None = None
    attention: bool = False
    page: int = 1


@dataclass(frozen=True)
class OrderRow:
    order: Order
    events: int
    reasons: tuple[Attention, ...]


@dataclass(frozen=True)
class OrderList:
    rows: list[OrderRow]
    total: int  # orders matching the filters
    page: int
    pages: int
    #: Orders per state among those matching everything but the state filter.
    counts: Mapping[str, int]
    #: Orders matching the search and path filters, in any state, and of those the
    #: ones needing attention.
    all_total: int
    attention_total: int

    @property
    def first_index(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.rows) - 1 if self.rows else 0


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching itself anywhere (wildcards escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_condition(q: str) -> ColumnElement[bool] | None:
    """Orders whose number, e-mail, customer name or purchase id matches ``q``.

    Case-insensitive; the number, e-mail and name match anywhere, the purchase id
    exactly (it is random: a part of it finds nothing useful). None for empty text.
    """
    text = " ".join(q.split())[:QUERY_MAX]
    if not text:
        return None
    pattern = _like(text.lower())
    full_name = (
        sa.func.coalesce(Order.customer_first_name, "")
        + " "
        + sa.func.coalesce(Order.customer_last_name, "")
    )
    return sa.or_(
        sa.func.lower(Order.number).like(pattern, escape="\\"),
        sa.func.lower(Order.customer_email).like(pattern, escape="\\"),
        sa.func.lower(full_name).like(pattern, escape="\\"),
        Order.purchase_id == text.lower(),
    )


def list_orders(
    session: Session, filters: OrderFilters, rules: AttentionRules, page_size: int = PAGE_SIZE
) -> OrderList:
    """One page of orders, newest first, with their notification count and reasons."""
    conditions = attention_conditions(rules)
    any_reason = sa.or_(*conditions.values())
    common: list[ColumnElement[bool]] = []
    searched = search_condition(filters.q)
    if searched is not None:
        common.append(searched)
    if filters.confirmed_by is not None:
        common.append(Order.confirmed_by == filters.confirmed_by.value)
    wanted = list(common)
    if filters.attention:
        wanted.append(any_reason)
    if filters.state is not None:
        wanted.append(Order.state == filters.state.value)

    def count(*where: ColumnElement[bool]) -> int:
        return session.scalar(sa.select(sa.func.count(Order.id)).where(*where)) or 0

    by_state = session.execute(
        sa.select(Order.state, sa.func.count(Order.id))
        .where(*common, *([any_reason] if filters.attention else []))
        .group_by(Order.state)
    ).all()
    total = count(*wanted)
    pages = max(1, math.ceil(total / page_size))
    events = (
        sa.select(sa.func.count(OrderEvent.id))
        .where(OrderEvent.order_id == Order.id)
        .scalar_subquery()
    )
    reasons = list(conditions)
    result = session.execute(
        sa.select(Order, events, *(conditions[r].label(f"r_{r.value}") for r in reasons))
        .where(*wanted)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .offset((filters.page - 1) * page_size)
        .limit(page_size)
    ).all()
    rows = [
        OrderRow(
            order=row[0],
            events=row[1] or 0,
            reasons=tuple(r for r, held in zip(reasons, row[2:], strict=True) if held),
        )
        for row in result
    ]
    return OrderList(
        rows=rows,
        total=total,
        page=filters.page,
        pages=pages,
        counts={str(state): n for state, n in by_state},
        all_total=count(*common),
        attention_total=count(*common, any_reason),
    )


@dataclass(frozen=True)
class OrderDetail:
    """One order for its back-office page."""

    order: Order
    events: Sequence[OrderEvent]  # notifications and Commerce steps, oldest first
    actions: Sequence[CommerceAction]  # newest first
    emails: Sequence[OutboxEmail]
    reasons: tuple[Attention, ...]
    first_by_path: Mapping[str, int] = field(default_factory=dict)

    @property
    def notifications(self) -> list[OrderEvent]:
        """The events of the notification paths (not the Commerce steps)."""
        return [e for e in self.events if e.action_id is None]


def order_detail(session: Session, number: str, rules: AttentionRules) -> OrderDetail | None:
    """The order with this number and everything the page shows, or None."""
    longest = max_length(Order.__table__.c.number) or 0
    if not number or len(number) > longest:
        return None
    order = session.scalar(
        sa.select(Order).where(Order.number == number).options(selectinload(Order.lines))
    )
    if order is None:
        return None
    events = session.scalars(
        sa.select(OrderEvent)
        .where(OrderEvent.order_id == order.id)
        .options(selectinload(OrderEvent.admin))
        .order_by(OrderEvent.id)
    ).all()
    actions = session.scalars(
        sa.select(CommerceAction)
        .where(CommerceAction.order_id == order.id)
        .options(selectinload(CommerceAction.lines), selectinload(CommerceAction.admin))
        .order_by(CommerceAction.id.desc())
    ).all()
    emails = session.scalars(
        sa.select(OutboxEmail).where(OutboxEmail.order_id == order.id).order_by(OutboxEmail.id)
    ).all()
    conditions = attention_conditions(rules)
    held = session.execute(
        sa.select(*(c.label(f"r_{r.value}") for r, c in conditions.items())).where(
            Order.id == order.id
        )
    ).one()
    first_by_path: dict[str, int] = {}
    for event in events:
        if event.action_id is None:
            first_by_path.setdefault(event.path, event.id)
    return OrderDetail(
        order=order,
        events=events,
        actions=actions,
        emails=emails,
        reasons=tuple(r for r, h in zip(conditions, held, strict=True) if h),
        first_by_path=first_by_path,
    )


class OutboxRow(NamedTuple):
    email: OutboxEmail
    order_number: str


def outbox(session: Session, limit: int = 100) -> list[OutboxRow]:
    """The newest e-mails in the outbox, with their order's number."""
    rows = session.execute(
        sa.select(OutboxEmail, Order.number)
        .join(Order, Order.id == OutboxEmail.order_id)
        .order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
        .limit(limit)
    ).all()
    return [OutboxRow(email, number) for email, number in rows]


def products(session: Session) -> Sequence[Product]:
    return session.scalars(sa.select(Product).order_by(Product.id)).all()
