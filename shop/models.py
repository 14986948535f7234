"""The shop's tables, as typed SQLAlchemy 2 models.

Money is always an integer number of minor units (öre) and the currency is SEK.
Times are stored in UTC and always come back timezone-aware (SQLite forgets the zone,
``UTCDateTime`` puts it back).

Integrity that matters is in the schema, not only in code: an order's state is one of
four values, a purchase id belongs to at most one order, and an order has at most one
confirmation e-mail.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from common.addresses import single_recipient
from common.db import NAMING_CONVENTION, UTCDateTime, utcnow


class Base(DeclarativeBase):
    """A plain SQLAlchemy base, so that the models (and the services using them) need
    no Flask; Flask-SQLAlchemy's ``db`` is built on its metadata (``shop.extensions``)."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class OrderState(enum.StrEnum):
    """pending → paid | on_hold | failed, moved only by the confirm step; then paid |
    on_hold → cancelled, moved only by an accepted CancelPayment
    (``shop.orders.commerce``). States never move back."""

    PENDING = "pending"
    PAID = "paid"
    ON_HOLD = "on_hold"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ConfirmPath(enum.StrEnum):
    """How the shop heard about a purchase."""

    CALLBACK = "callback"
    BROWSER = "browser"
    SWEEP = "sweep"
    ADMIN = "admin"  # an admin's "Check with Avarda", or a Commerce action


def _stored_as_text(values: type[enum.StrEnum], length: int = 16) -> sa.Enum:
    """A ``StrEnum`` column stored as its values in a ``VARCHAR``: no database enum type
    (adding a value needs no ``ALTER TYPE``) and the values listed in a CHECK constraint
    of the table, which is what refuses a wrong value. Python sees enum members."""
    return sa.Enum(
        values,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def _quoted(values: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


def new_token() -> str:
    """The order's public token: 192 random bits, URL-safe. It is the only key to the
    customer's order page, so it must not be guessable (the order number is)."""
    return secrets.token_urlsafe(24)


def new_order_number(now: datetime | None = None) -> str:
    """A human-friendly order number such as ``260501-3FA9C20B`` (date + 32 random bits).

    Sent to Avarda as ``OrderReference``. Collisions are caught by a unique constraint
    (``shop.orders.checkout`` then starts the order again with a new number).
    """
    now = now or utcnow()
    return f"{now:%y%m%d}-{secrets.token_hex(4).upper()}"


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    price_minor: Mapped[int] = mapped_column(sa.Integer)  # incl. VAT
    vat_percent: Mapped[int] = mapped_column(sa.Integer, default=25)
    stock: Mapped[int] = mapped_column(sa.Integer, default=0)
    image: Mapped[str] = mapped_column(sa.String(120), default="")  # under static/img/products/

    __table_args__ = (
        sa.CheckConstraint("price_minor > 0", name="price_positive"),
        sa.CheckConstraint("vat_percent >= 0 AND vat_percent <= 100", name="vat_range"),
    )

    def __repr__(self) -> str:
        return f"<Product {self.sku} stock={self.stock}>"


class Order(Base):
    __tablename__ = "order"  # quoted by SQLAlchemy everywhere

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_token)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_order_number)
    state: Mapped[OrderState] = mapped_column(
        _stored_as_text(OrderState), default=OrderState.PENDING, index=True
    )
    currency: Mapped[str] = mapped_column(sa.String(3), default="SEK")
    total_minor: Mapped[int] = mapped_column(sa.Integer)  # incl. VAT
    vat_minor: Mapped[int] = mapped_column(sa.Integer)
    purchase_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    cart_fingerprint: Mapped[str] = mapped_column(sa.String(64))

    payment_method: Mapped[str | None] = mapped_column(sa.String(40))
    customer_email: Mapped[str | None] = mapped_column(sa.String(120))
    customer_phone: Mapped[str | None] = mapped_column(sa.String(40))
    customer_first_name: Mapped[str | None] = mapped_column(sa.String(80))
    customer_last_name: Mapped[str | None] = mapped_column(sa.String(80))
    customer_address_line1: Mapped[str | None] = mapped_column(sa.String(120))
    customer_address_line2: Mapped[str | None] = mapped_column(sa.String(120))
    customer_zip: Mapped[str | None] = mapped_column(sa.String(40))
    customer_city: Mapped[str | None] = mapped_column(sa.String(80))
    customer_country: Mapped[str | None] = mapped_column(sa.String(8))
    #: Where to deliver, when Avarda reports a separate delivery address (``Delivery*``);
    #: all None means "deliver to the invoicing address above".
    delivery_first_name: Mapped[str | None] = mapped_column(sa.String(80))
    delivery_last_name: Mapped[str | None] = mapped_column(sa.String(80))
    delivery_address_line1: Mapped[str | None] = mapped_column(sa.String(120))
    delivery_address_line2: Mapped[str | None] = mapped_column(sa.String(120))
    delivery_zip: Mapped[str | None] = mapped_column(sa.String(40))
    delivery_city: Mapped[str | None] = mapped_column(sa.String(80))
    avarda_price_minor: Mapped[int | None] = mapped_column(sa.Integer)
    hold_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: What Avarda last said that the shop cannot act on (a State or PaymentMethod it
    #: does not know, or a refusal to report the purchase): a person must look.
    avarda_problem: Mapped[str | None] = mapped_column(sa.Text)
    #: The cart of an UpdateItems sent to Avarda and not yet known to be applied (see
    #: ``shop.orders.cart_change``): the confirm step may have to pay with these lines.
    cart_in_flight: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: The order this one's cart moved to when Avarda could no longer update its purchase.
    replaced_by_number: Mapped[str | None] = mapped_column(sa.String(32))

    # After payment, written only by ``shop.orders.commerce`` and only once Avarda has
    # accepted the call: money in minor units that each only ever grows.
    delivered_minor: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    returned_minor: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    refunded_minor: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    #: The undelivered rest given up by RefundRemaining ("closed"): never delivered.
    released_minor: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(200))

    confirmed_by: Mapped[ConfirmPath | None] = mapped_column(_stored_as_text(ConfirmPath))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A sweeper holds this pending order until then (``shop.orders.sweep.claim``).
    sweep_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )

    __table_args__ = (
        sa.CheckConstraint(f"state IN ({_quoted(OrderState)})", name="state_valid"),
        sa.CheckConstraint(
            f"confirmed_by IS NULL OR confirmed_by IN ({_quoted(ConfirmPath)})",
            name="confirmed_by_valid",
        ),
        sa.CheckConstraint("total_minor > 0", name="total_positive"),
        sa.CheckConstraint(
            "delivered_minor >= 0 AND returned_minor >= 0 AND refunded_minor >= 0 "
            "AND released_minor >= 0 AND returned_minor + refunded_minor <= delivered_minor",
            name="amounts_valid",
        ),
    )

    @property
    def authorized_minor(self) -> int:
        """What Avarda authorized: its reported price, or the order total before that."""
        return self.avarda_price_minor if self.avarda_price_minor is not None else self.total_minor

    @property
    def refundable_minor(self) -> int:
        """Delivered and not yet returned or refunded: the most Refund may give back."""
        return self.delivered_minor - self.returned_minor - self.refunded_minor

    @property
    def open_minor(self) -> int:
        """Authorized, not delivered and not given up: what may still be delivered."""
        if self.state == OrderState.CANCELLED or self.closed_at is not None:
            return 0
        return max(self.authorized_minor - self.delivered_minor - self.released_minor, 0)

    @property
    def has_delivery_address(self) -> bool:
        """Avarda reported a delivery address apart from the invoicing one."""
        return any(
            (
                self.delivery_first_name,
                self.delivery_last_name,
                self.delivery_address_line1,
                self.delivery_address_line2,
                self.delivery_zip,
                self.delivery_city,
            )
        )

    @property
    def delivery_name(self) -> str:
        return " ".join(p for p in (self.delivery_first_name, self.delivery_last_name) if p)

    @property
    def customer_name(self) -> str:
        return " ".join(p for p in (self.customer_first_name, self.customer_last_name) if p)

    @property
    def confirmation_mailable(self) -> bool:
        """Avarda reported one usable e-mail address: a confirmation e-mail is sent (the
        confirm step writes none otherwise, and the pages promise none)."""
        return single_recipient(self.customer_email) is not None

    def __repr__(self) -> str:
        return f"<Order {self.number} {self.state}>"


class OrderLine(Base):
    __tablename__ = "order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    sku: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(80))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    unit_price_minor: Mapped[int] = mapped_column(sa.Integer)  # incl. VAT
    vat_percent: Mapped[int] = mapped_column(sa.Integer)
    line_total_minor: Mapped[int] = mapped_column(sa.Integer)  # incl. VAT
    vat_minor: Mapped[int] = mapped_column(sa.Integer)

    #: How many Avarda accepted as delivered (PurchaseOrder), and of those returned
    #: (ReturnOrder). Only ``shop.orders.commerce`` moves them, and only forward.
    delivered_quantity: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    returned_quantity: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint(
            "returned_quantity >= 0 AND returned_quantity <= delivered_quantity "
            "AND delivered_quantity <= quantity",
            name="fulfilment_valid",
        ),
    )

    @property
    def undelivered_quantity(self) -> int:
        return self.quantity - self.delivered_quantity

    @property
    def returnable_quantity(self) -> int:
        return self.delivered_quantity - self.returned_quantity


class EventOutcome(enum.StrEnum):
    """What one order event records (``OrderEvent.outcome``)."""

    # What a notification (callback, browser, sweep, an admin's check) did: the confirm step.
    PAID = "paid"
    HELD = "held"
    FAILED = "failed"
    DUPLICATE = "duplicate"  # the order was already final; nothing changed
    PENDING = "pending"
    AVARDA_UNAVAILABLE = "avarda_unavailable"
    ATTENTION = "attention"  # Avarda said something new the shop cannot act on
    ATTENTION_AGAIN = "attention_again"  # the same as before; still waiting for a person

    # Avarda's answer to a Commerce call (the event's ``action_id``): "<kind>_<answer>".
    DELIVER_APPLIED = "deliver_applied"
    DELIVER_REFUSED = "deliver_refused"
    DELIVER_UNKNOWN = "deliver_unknown"
    RETURN_APPLIED = "return_applied"
    RETURN_REFUSED = "return_refused"
    RETURN_UNKNOWN = "return_unknown"
    REFUND_APPLIED = "refund_applied"
    REFUND_REFUSED = "refund_refused"
    REFUND_UNKNOWN = "refund_unknown"
    CLOSE_APPLIED = "close_applied"
    CLOSE_REFUSED = "close_refused"
    CLOSE_UNKNOWN = "close_unknown"
    CANCEL_APPLIED = "cancel_applied"
    CANCEL_REFUSED = "cancel_refused"
    CANCEL_UNKNOWN = "cancel_unknown"

    EMAIL_RESENT = "email_resent"  # an admin queued the confirmation e-mail again

    @classmethod
    def of_commerce(cls, kind: CommerceKind, answer: str) -> EventOutcome:
        """The outcome of a Commerce call of ``kind`` that Avarda ``answer``-ed
        (``applied``, ``refused`` or ``unknown``)."""
        return cls(f"{kind.value}_{answer}")

    @property
    def is_notification(self) -> bool:
        """Recorded by the confirm step (the order's timeline of notifications)."""
        return self in _NOTIFICATION_OUTCOMES


_NOTIFICATION_OUTCOMES = frozenset(
    {
        EventOutcome.PAID,
        EventOutcome.HELD,
        EventOutcome.FAILED,
        EventOutcome.DUPLICATE,
        EventOutcome.PENDING,
        EventOutcome.AVARDA_UNAVAILABLE,
        EventOutcome.ATTENTION,
        EventOutcome.ATTENTION_AGAIN,
    }
)


class OrderEvent(Base):
    """One notification about an order (callback, browser return, sweep or an admin's
    check), duplicates included, or one step of a Commerce action (``action_id``); written
    in the same transaction as whatever it caused. ``admin_id`` is the admin who acted."""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order.id", ondelete="CASCADE"), index=True)
    path: Mapped[ConfirmPath] = mapped_column(_stored_as_text(ConfirmPath))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempt: Mapped[int] = mapped_column(sa.Integer)  # n-th notification of this path
    #: Identical browser returns after this one, counted here instead of a row each.
    repeats: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    avarda_state: Mapped[str | None] = mapped_column(sa.String(40))
    outcome: Mapped[EventOutcome] = mapped_column(_stored_as_text(EventOutcome, 32))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    admin_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("admin_user.id", ondelete="SET NULL")
    )
    action_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("commerce_action.id", ondelete="CASCADE"), index=True
    )

    order: Mapped[Order] = relationship(back_populates="events")
    admin: Mapped[AdminUser | None] = relationship()

    __table_args__ = (sa.CheckConstraint(f"path IN ({_quoted(ConfirmPath)})", name="path_valid"),)


class OutboxEmail(Base):
    """An e-mail to send, written in the transaction that pays the order.

    The mailer (``shop.mail.outbox``) works through rows whose ``next_attempt_at``
    has come and whose lease is free. ``next_attempt_at`` is NULL once nothing is left
    to do: the e-mail was sent (``sent_at``) or the mailer gave up (``failed_at``, with
    the reason in ``last_error``). ``attempts`` counts claims; it also tells a sender
    whether a claim it made is still the latest one.
    """

    __tablename__ = "outbox_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    to_address: Mapped[str] = mapped_column(sa.String(120))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=utcnow, index=True
    )
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship()

    __table_args__ = (sa.UniqueConstraint("order_id", "kind", name="uq_outbox_email_order_kind"),)

    @property
    def status(self) -> str:
        """ "sent", "failed" (given up), "retrying" (failed before, will try again) or
        "queued"."""
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "retrying" if self.last_error else "queued"


class CommerceKind(enum.StrEnum):
    """A Commerce call after payment, by what it does for the merchant."""

    DELIVER = "deliver"  # PurchaseOrder
    RETURN = "return"  # ReturnOrder
    REFUND = "refund"  # Refund
    CLOSE = "close"  # RefundRemaining: the undelivered rest will never ship
    CANCEL = "cancel"  # CancelPayment


class ActionStatus(enum.StrEnum):
    """requested → applied | refused | unknown; unknown → requested (a retry, same TranId).

    ``requested`` is committed before the call; an action still ``requested`` after its
    lease (the process died mid-call) is as unknown as a timeout and may be retried.
    """

    REQUESTED = "requested"
    APPLIED = "applied"
    REFUSED = "refused"
    UNKNOWN = "unknown"


class CommerceAction(Base):
    """One Commerce call to Avarda and what became of it.

    ``tran_id`` (a UUID) is created with the row, before the call, and sent again on
    every retry, so that Avarda applies the call once. ``form_key`` is the idempotency
    key of the admin form that asked for it: a second submission finds this row instead
    of making another. The order's amounts and quantities change only when the row
    becomes ``applied``, in that same transaction.
    """

    __tablename__ = "commerce_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CommerceKind] = mapped_column(_stored_as_text(CommerceKind))
    status: Mapped[ActionStatus] = mapped_column(
        _stored_as_text(ActionStatus), default=ActionStatus.REQUESTED
    )
    tran_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    form_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    amount_minor: Mapped[int] = mapped_column(sa.Integer, default=0)
    tracking_code: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    admin_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("admin_user.id", ondelete="SET NULL")
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Avarda's answer to the last attempt: its ErrorCode and ErrorMessage on a refusal,
    #: or why the outcome is unknown.
    error_code: Mapped[str | None] = mapped_column(sa.String(32))
    error_message: Mapped[str | None] = mapped_column(sa.Text)

    order: Mapped[Order] = relationship()
    admin: Mapped[AdminUser | None] = relationship()
    lines: Mapped[list[CommerceActionLine]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="CommerceActionLine.id"
    )

    __table_args__ = (
        sa.CheckConstraint(f"kind IN ({_quoted(CommerceKind)})", name="kind_valid"),
        sa.CheckConstraint(f"status IN ({_quoted(ActionStatus)})", name="status_valid"),
        sa.CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        sa.CheckConstraint("attempts >= 1", name="attempts_positive"),
    )

    def __repr__(self) -> str:
        return f"<CommerceAction {self.id} {self.kind} {self.status}>"


class CommerceActionLine(Base):
    """How many of one order line a deliver or return action moves, and for how much."""

    __tablename__ = "commerce_action_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        sa.ForeignKey("commerce_action.id", ondelete="CASCADE"), index=True
    )
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_line.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    amount_minor: Mapped[int] = mapped_column(sa.Integer)  # incl. VAT
    vat_minor: Mapped[int] = mapped_column(sa.Integer)

    action: Mapped[CommerceAction] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)


class AuthResult(enum.StrEnum):
    """Whether a callback authenticated (``CallbackLog.auth``)."""

    OK = "ok"
    MISSING = "missing"  # no Authorization header at all
    REFUSED = "refused"  # a header that did not authenticate


class CallbackLog(Base):
    """One inbound server callback (``POST /avarda/purchase-completed``), rejected ones
    included: when, from where, whether it authenticated, for which purchase, what the
    shop answered and how fast. Never the ``Authorization`` header's value or the body.

    ``auth_scheme`` is the header's first word (``Basic``, ``Bearer``), cut short.
    ``purchase_id`` is known only once the body was accepted.
    """

    __tablename__ = "callback_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    auth: Mapped[AuthResult] = mapped_column(_stored_as_text(AuthResult))
    auth_scheme: Mapped[str | None] = mapped_column(sa.String(16))
    purchase_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    status: Mapped[int] = mapped_column(sa.Integer)
    outcome: Mapped[str] = mapped_column(sa.String(32), index=True)
    latency_ms: Mapped[int] = mapped_column(sa.Integer)

    __table_args__ = (
        sa.CheckConstraint(f"auth IN ({_quoted(AuthResult)})", name="auth_valid"),
        sa.CheckConstraint("status >= 100 AND status <= 599", name="status_valid"),
        sa.CheckConstraint("latency_ms >= 0", name="latency_not_negative"),
    )


class AdminUser(Base):
    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    #: Part of every session's user id: signing out or a new password adds one, which
    #: ends every session (cookie) issued before, on every device.
    session_version: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    # What Flask-Login asks of a user object (as its ``UserMixin`` would provide).
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version or 0}"

    def end_sessions(self) -> None:
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<AdminUser {self.email}>"


class LoginFailure(Base):
    """One failed sign-in to the back office, counted per account and per address
    (``key`` is a hash of either, never what was typed). In the database, so that the
    limit holds across gunicorn workers and hosts (``shop.orders.admins``)."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_login_failure_key_at", "key", "at"),)
