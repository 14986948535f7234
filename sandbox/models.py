"""The sandbox's tables: merchants, purchases and their history, commerce transactions,
server-callback deliveries and their attempts."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from enum import IntEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox import wire
from sandbox.db import Base, Money, UTCDateTime, utcnow


class State(IntEnum):
    """Avarda Checkout 2.0 purchase states (values are the wire values)."""

    NEW = 0
    BEING_PROCESSED = 1
    COMPLETED = 2
    ERROR = 3
    WAITING_FOR_SIGNICAT = 4
    SESSION_TIMED_OUT = 5
    WAITING_FOR_CARD_PAYMENTS = 6
    WAITING_FOR_BANK_ID = 7
    CANCELLED = 8
    WAITING_FOR_FINNISH_DIRECT_PAYMENT = 9


IN_CHECKOUT = frozenset({State.NEW, State.BEING_PROCESSED})
WAITING = frozenset(
    {
        State.WAITING_FOR_SIGNICAT,
        State.WAITING_FOR_CARD_PAYMENTS,
        State.WAITING_FOR_BANK_ID,
        State.WAITING_FOR_FINNISH_DIRECT_PAYMENT,
    }
)
#: States that time out to SessionTimedOut when left too long.
TIMES_OUT = IN_CHECKOUT | WAITING


class Method(IntEnum):
    """Avarda payment methods offered by the sandbox (wire values)."""

    INVOICE = 0
    LOAN = 1
    CARD = 2
    DIRECT_PAYMENT = 3
    PART_PAYMENT = 4


#: Credit methods: Avarda lets Invoice and Account (Loan) be delivered above the authorized
#: amount; PartPayment is an account too. Card and direct bank payments are prepaid: the
#: authorized amount is the maximum.
CREDIT_METHODS = frozenset({Method.INVOICE, Method.LOAN, Method.PART_PAYMENT})
#: (sandbox choice) How far above the authorized amount a credit purchase may be delivered;
#: Avarda does not publish its tolerance.
OVERDELIVERY_TOLERANCE = Decimal("0.10")
ZERO = Decimal("0.00")


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    EXHAUSTED = "exhausted"
    REFUSED = "refused"


class Merchant(Base):
    """A site code with its server-callback settings and fault injection.

    The site password is not stored: it lives in configuration only. ``callback_auth_*``
    hold the static Authorization header the sandbox sends (never logged or shown).
    ``callback_allowed_origins`` NULL means the default: the origin of SHOP_PUBLIC_URL.
    (``callback_allowed_hosts``, the host list of earlier versions, is no longer read.)
    ``configured_digest`` fingerprints the configured settings last applied
    (``merchants.ensure_configured``): a change in the configuration reaches the row,
    while settings changed at run time survive restarts.
    """

    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    callback_enabled: Mapped[bool] = mapped_column(default=True)
    callback_auth_scheme: Mapped[str] = mapped_column(sa.String(10), default="None")
    callback_auth_username: Mapped[str | None] = mapped_column(sa.String(wire.AUTH_USERNAME_MAX))
    callback_auth_secret: Mapped[str | None] = mapped_column(sa.Text)
    callback_allowed_origins: Mapped[list[str] | None] = mapped_column(sa.JSON)
    retry_schedule_ms: Mapped[list[int]] = mapped_column(sa.JSON)
    retry_every_ms: Mapped[int]
    max_attempts: Mapped[int]
    first_attempt_delay_ms: Mapped[int] = mapped_column(default=0)
    callback_copies: Mapped[int] = mapped_column(default=1)
    fail_first_attempts: Mapped[int] = mapped_column(default=0)
    done_delay_seconds: Mapped[int] = mapped_column(default=0)
    never_call_done: Mapped[bool] = mapped_column(default=False)
    realistic_latency: Mapped[bool] = mapped_column(default=False)
    purchase_timeout_seconds: Mapped[int]
    configured_digest: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def _address() -> sa.String:
    return sa.String(wire.ADDRESS_FIELD_MAX)


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        sa.Index("ix_purchases_merchant_completed", "merchant_id", "completed_at", "id"),
        sa.Index("ix_purchases_state_expires", "state", "expires_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id"), index=True)
    state: Mapped[int] = mapped_column(default=int(State.NEW))
    payment_method: Mapped[int | None]
    price: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str | None] = mapped_column(sa.String(wire.DESCRIPTION_MAX))
    order_reference: Mapped[str | None] = mapped_column(sa.String(wire.ORDER_REFERENCE_MAX))
    customer_token: Mapped[str | None] = mapped_column(sa.String(wire.CUSTOMER_TOKEN_MAX))
    user_language_code: Mapped[str] = mapped_column(sa.String(5), default="en-US")
    country_code: Mapped[str | None] = mapped_column(sa.String(2))
    mail: Mapped[str | None] = mapped_column(sa.String(wire.MAIL_MAX))
    phone: Mapped[str | None] = mapped_column(sa.String(wire.PHONE_MAX))
    is_phone_and_mail_editable: Mapped[bool] = mapped_column(default=True)
    is_invoicing_editable: Mapped[bool] = mapped_column(default=True)
    is_delivery_editable: Mapped[bool] = mapped_column(default=True)
    use_different_delivery_address: Mapped[bool] = mapped_column(default=False)
    invoicing_first_name: Mapped[str | None] = mapped_column(_address())
    invoicing_last_name: Mapped[str | None] = mapped_column(_address())
    invoicing_address_line1: Mapped[str | None] = mapped_column(_address())
    invoicing_address_line2: Mapped[str | None] = mapped_column(_address())
    invoicing_zip: Mapped[str | None] = mapped_column(_address())
    invoicing_city: Mapped[str | None] = mapped_column(_address())
    delivery_first_name: Mapped[str | None] = mapped_column(_address())
    delivery_last_name: Mapped[str | None] = mapped_column(_address())
    delivery_address_line1: Mapped[str | None] = mapped_column(_address())
    delivery_address_line2: Mapped[str | None] = mapped_column(_address())
    delivery_zip: Mapped[str | None] = mapped_column(_address())
    delivery_city: Mapped[str | None] = mapped_column(_address())
    callback_url: Mapped[str | None] = mapped_column(sa.Text)
    purchase_completed_callback_url: Mapped[str | None] = mapped_column(sa.Text)
    #: Outcome of the card issuer / bank step while waiting: None until decided.
    external_approved: Mapped[bool | None]
    status_message: Mapped[str | None] = mapped_column(sa.String(200))
    delivered_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    returned_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    #: Amount released by RefundRemaining: no longer deliverable.
    released_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(wire.REASON_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    merchant: Mapped[Merchant] = relationship()
    items: Mapped[list[PurchaseItem]] = relationship(
        order_by="PurchaseItem.position", cascade="all, delete-orphan"
    )
    history: Mapped[list[StateChange]] = relationship(
        order_by="StateChange.id", cascade="all, delete-orphan"
    )
    transactions: Mapped[list[CommerceTransaction]] = relationship(
        order_by="CommerceTransaction.id", viewonly=True
    )
    deliveries: Mapped[list[Delivery]] = relationship(order_by="Delivery.id", viewonly=True)

    @property
    def state_name(self) -> str:
        return State(self.state).name

    @property
    def method_name(self) -> str | None:
        return None if self.payment_method is None else Method(self.payment_method).name

    # Commerce amounts (see sandbox.commerce for the rules that move them).

    @property
    def authorized_amount(self) -> Decimal:
        """The purchase's Price once it completed (authorized), else 0."""
        return self.price if self.completed_at is not None else ZERO

    @property
    def remaining_amount(self) -> Decimal:
        """Not yet delivered nor released: what RefundRemaining would release."""
        if self.state != State.COMPLETED:
            return ZERO
        return max(self.authorized_amount - self.delivered_amount - self.released_amount, ZERO)

    @property
    def deliverable_amount(self) -> Decimal:
        """The most the next PurchaseOrder may deliver (with the credit tolerance)."""
        if self.state != State.COMPLETED:
            return ZERO
        if self.payment_method in CREDIT_METHODS and self.released_amount == 0:
            ceiling = (self.authorized_amount * (1 + OVERDELIVERY_TOLERANCE)).quantize(
                Decimal("0.01"), ROUND_DOWN
            )
            return max(ceiling - self.delivered_amount, ZERO)
        return self.remaining_amount

    @property
    def refundable_amount(self) -> Decimal:
        """Delivered and not yet returned or refunded: what ReturnOrder/Refund may take."""
        return max(self.delivered_amount - self.returned_amount - self.refunded_amount, ZERO)


class PurchaseItem(Base):
    __tablename__ = "purchase_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[str] = mapped_column(sa.ForeignKey("purchases.id"), index=True)
    position: Mapped[int]
    description: Mapped[str | None] = mapped_column(sa.String(wire.ITEM_TEXT_MAX))
    notes: Mapped[str | None] = mapped_column(sa.String(wire.ITEM_TEXT_MAX))
    amount: Mapped[Decimal] = mapped_column(Money)
    tax_code: Mapped[str | None] = mapped_column(sa.String(wire.TAX_CODE_MAX))
    tax_amount: Mapped[Decimal | None] = mapped_column(Money)

    def as_json(self) -> dict[str, Any]:
        return {
            "Description": self.description,
            "Notes": self.notes,
            "Amount": self.amount,
            "TaxCode": self.tax_code,
            "TaxAmount": self.tax_amount,
        }


class StateChange(Base):
    __tablename__ = "state_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[str] = mapped_column(sa.ForeignKey("purchases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_state: Mapped[int | None]
    to_state: Mapped[int]
    note: Mapped[str | None] = mapped_column(sa.String(200))


class CommerceTransaction(Base):
    """One accepted Commerce call. ``tran_id`` is unique per merchant; ``fingerprint``
    (a hash of the request) tells an idempotent repeat from a conflicting reuse."""

    __tablename__ = "commerce_transactions"
    __table_args__ = (sa.UniqueConstraint("merchant_id", "tran_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id"))
    purchase_id: Mapped[str] = mapped_column(sa.ForeignKey("purchases.id"), index=True)
    tran_id: Mapped[str | None] = mapped_column(sa.String(wire.TRAN_ID_MAX))
    kind: Mapped[str] = mapped_column(sa.String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    order_reference: Mapped[str | None] = mapped_column(sa.String(wire.ORDER_REFERENCE_MAX))
    tracking_code: Mapped[str | None] = mapped_column(sa.String(wire.TRACKING_CODE_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """One server-side callback to send (one row per copy).

    Claimed by a worker with a lease (``lease_token`` until ``lease_expires_at``);
    a claim that outlives its lease is free for another worker. ``round_base`` is the
    attempt count when the current round began (a redelivery starts a new round).
    """

    __tablename__ = "deliveries"
    __table_args__ = (sa.Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[str] = mapped_column(sa.ForeignKey("purchases.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id"))
    url: Mapped[str] = mapped_column(sa.Text)
    copy_index: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(10), default=DeliveryStatus.PENDING)
    attempt_count: Mapped[int] = mapped_column(default=0)
    round_base: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(sa.String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    attempts: Mapped[list[DeliveryAttempt]] = relationship(
        order_by="DeliveryAttempt.number", cascade="all, delete-orphan"
    )
    merchant: Mapped[Merchant] = relationship()


class DeliveryAttempt(Base):
    """One attempt. ``outcome`` is "sending" while a worker holds it; an attempt whose
    worker died stays "sending" until the next claim marks it failed (LeaseExpired)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (sa.UniqueConstraint("delivery_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("deliveries.id"))
    number: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(200))
    outcome: Mapped[str] = mapped_column(sa.String(10), default="sending")


class LoginFailure(Base):
    """One failed login, counted per account and per address (``key`` is a hash of
    either, so a password typed into the user name field is not stored). Kept in the
    database so that the limit holds across gunicorn workers."""

    __tablename__ = "login_failures"
    __table_args__ = (sa.Index("ix_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdminSessions(Base):
    """The dashboard admin's session version: each logout adds one, which ends every
    session (cookie) issued before, on every device."""

    __tablename__ = "admin_sessions"

    username: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
