"""The shop's outbox in tests: an e-mail queued as the confirm step queues it, one mailer
pass, and a fresh read of a row. Call inside the shop's app context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from shop.extensions import db
from shop.mail.outbox import SendReport, send_due
from shop.models import Order, OutboxEmail
from shop.transactions import end_read

#: "Now" for the outbox tests: time is always passed in, nothing waits for a clock.
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def queue_email(
    to: str = "anna@example.com", subject: str = "", queued: datetime = T0 - timedelta(minutes=1)
) -> int:
    """An outbox row as the confirm step writes it, queued a minute before T0."""
    order = Order(total_minor=100, vat_minor=20, cart_fingerprint="x")
    db.session.add(order)
    db.session.flush()
    mail = OutboxEmail(
        order_id=order.id,
        kind="order_confirmation",
        to_address=to,
        subject=subject or f"Order {order.number} is confirmed",
        body="Hello Anna,\n\nthank you. Total 249.00 SEK\n",
        created_at=queued,
        next_attempt_at=queued,
    )
    db.session.add(mail)
    db.session.commit()
    return mail.id


def fresh(mail_id: int) -> OutboxEmail:
    """The row as the database has it now (not as this session remembers it)."""
    end_read(db.session())
    db.session.expire_all()
    mail = db.session.get(OutboxEmail, mail_id)
    assert mail is not None
    return mail


def send(transport: Any, **options: Any) -> SendReport:
    """One mailer pass as the CLI runs it: the app's session, From: ``MAIL_FROM``."""
    options.setdefault("sender", current_app.config["MAIL_FROM"])
    return send_due(db.session(), transport, **options)
