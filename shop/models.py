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
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from shop.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class OrderState(enum.StrEnum):
    """pending → paid | on_hold | failed. Only the confirm step moves an order."""

    PENDING = "pending"
    PAID = "paid"
    ON_HOLD = "on_hold"
    FAILED = "failed"


class ConfirmPath(enum.StrEnum):
    """How the shop heard about a purchase."""

    CALLBACK = "callback"
    BROWSER = "browser"
    SWEEP = "sweep"


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


class Product(db.Model):
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


class Order(db.Model):
    __tablename__ = "order"  # quoted by SQLAlchemy everywhere

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=new_token)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_order_number)
    state: Mapped[str] = mapped_column(sa.String(16), default=OrderState.PENDING.value, index=True)
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
    avarda_price_minor: Mapped[int | None] = mapped_column(sa.Integer)
    hold_reason: Mapped[str | None] = mapped_column(sa.Text)

    confirmed_by: Mapped[str | None] = mapped_column(sa.String(16))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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
    )

    @property
    def is_final(self) -> bool:
        return self.state != OrderState.PENDING

    @property
    def customer_name(self) -> str:
        return " ".join(p for p in (self.customer_first_name, self.customer_last_name) if p)

    def __repr__(self) -> str:
        return f"<Order {self.number} {self.state}>"


class OrderLine(db.Model):
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

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)


class OrderEvent(db.Model):
    """One notification about an order (callback, browser return or sweep), duplicates
    included, written in the same transaction as whatever it caused."""

    __tablename__ = "order_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempt: Mapped[int] = mapped_column(sa.Integer)  # n-th notification of this path
    avarda_state: Mapped[str | None] = mapped_column(sa.String(40))
    outcome: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str] = mapped_column(sa.Text, default="")

    order: Mapped[Order] = relationship(back_populates="events")

    __table_args__ = (sa.CheckConstraint(f"path IN ({_quoted(ConfirmPath)})", name="path_valid"),)


class OutboxEmail(db.Model):
    """An e-mail to send, written in the transaction that pays the order.

    The mailer (``shop.orders.outbox``) works through rows whose ``next_attempt_at``
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


class AdminUser(UserMixin, db.Model):
    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<AdminUser {self.email}>"
