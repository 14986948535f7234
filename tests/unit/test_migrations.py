"""The migrations and the models agree (what ``flask db check`` checks), on SQLite and
PostgreSQL, and the outbox migration keeps queued e-mails due."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from shop import MIGRATIONS_DIR
from shop.extensions import db
from shop.models import Order, OutboxEmail, UTCDateTime

BEFORE_OUTBOX_STATE = "891ac48b632d"


def test_models_and_migrations_have_no_drift(shop):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_outbox_migration_makes_queued_emails_due_and_downgrades(shop):
    queued_at = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    downgrade(directory=str(MIGRATIONS_DIR), revision=BEFORE_OUTBOX_STATE)
    order = Order(total_minor=100, vat_minor=20, cart_fingerprint="x")
    db.session.add(order)
    db.session.commit()
    old_outbox = sa.table(
        "outbox_email",
        sa.column("order_id"),
        sa.column("kind"),
        sa.column("to_address"),
        sa.column("subject"),
        sa.column("body"),
        sa.column("created_at", UTCDateTime()),
        sa.column("sent_at", UTCDateTime()),
    )
    row = {"order_id": order.id, "to_address": "a@example.com", "subject": "s", "body": "b"}
    db.session.execute(
        old_outbox.insert(),
        [
            {**row, "kind": "queued", "created_at": queued_at, "sent_at": None},
            {**row, "kind": "sent", "created_at": queued_at, "sent_at": queued_at},
        ],
    )
    db.session.commit()
    db.session.remove()

    upgrade(directory=str(MIGRATIONS_DIR))

    mails = {m.kind: m for m in db.session.scalars(sa.select(OutboxEmail))}
    assert mails["queued"].next_attempt_at == queued_at and mails["queued"].attempts == 0
    assert mails["sent"].next_attempt_at is None and mails["sent"].sent_at == queued_at
