"""The migrations and the models agree (what ``flask db check`` checks), on SQLite and
PostgreSQL, and the outbox migration keeps queued e-mails due."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from shop import MIGRATIONS_DIR, create_app
from shop.catalog import get_product_by_sku
from shop.extensions import db
from shop.models import (
    Order,
    OrderEvent,
    OrderLine,
    OutboxEmail,
    UTCDateTime,
    new_order_number,
    new_token,
    utcnow,
)
from tests.harness import shop_config

BEFORE_OUTBOX_STATE = "891ac48b632d"
BEFORE_WIDE_ZIP = "4b79b9852913"


def test_models_and_migrations_have_no_drift(shop):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_outbox_migration_makes_queued_emails_due_and_downgrades(shop):
    queued_at = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    downgrade(directory=str(MIGRATIONS_DIR), revision=BEFORE_OUTBOX_STATE)
    order_id = insert_old_order()
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
    row = {"order_id": order_id, "to_address": "a@example.com", "subject": "s", "body": "b"}
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


def insert_old_order(**values: object) -> int:
    """An order row in an older schema: only the columns every revision has (the
    models describe the newest schema, so they cannot write into an older one)."""
    old_order = sa.table(
        "order",
        sa.column("id"),
        sa.column("token"),
        sa.column("number"),
        sa.column("state"),
        sa.column("currency"),
        sa.column("total_minor"),
        sa.column("vat_minor"),
        sa.column("cart_fingerprint"),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
        *(sa.column(name) for name in values),
    )
    now = utcnow()
    row = {
        "token": new_token(), "number": new_order_number(), "state": "pending",
        "currency": "SEK", "total_minor": 100, "vat_minor": 20, "cart_fingerprint": "x",
        "created_at": now, "updated_at": now, **values,
    }  # fmt: skip
    order_id = db.session.execute(old_order.insert().returning(old_order.c.id), row).scalar_one()
    db.session.commit()
    return order_id


def counts() -> tuple[int, int, int, int]:
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Order, OrderLine, OrderEvent, OutboxEmail)
    )


def test_zip_migration_keeps_every_row_and_constraint_and_downgrades(shop):
    """The table rebuild of batch mode on SQLite must not cascade-delete an order's
    lines, events and e-mails (foreign keys are on in the shop's connections)."""
    downgrade(directory=str(MIGRATIONS_DIR), revision=BEFORE_WIDE_ZIP)
    mug = get_product_by_sku(db.session(), "MUG-01")
    order_id = insert_old_order(customer_zip="1" * 20)
    rows = {
        "order_line": {
            "order_id": order_id, "product_id": mug.id, "sku": mug.sku, "name": mug.name,
            "quantity": 1, "unit_price_minor": 100, "vat_percent": 25,
            "line_total_minor": 100, "vat_minor": 20,
        },
        "order_event": {
            "order_id": order_id, "path": "callback", "at": utcnow(), "attempt": 1,
            "outcome": "paid", "detail": "",
        },
        "outbox_email": {
            "order_id": order_id, "kind": "k", "to_address": "a@example.com", "subject": "s",
            "body": "b", "created_at": utcnow(),
        },
    }  # fmt: skip
    for table, row in rows.items():
        types = {"at": UTCDateTime(), "created_at": UTCDateTime()}
        columns = [sa.column(name, types.get(name)) for name in row]
        db.session.execute(sa.table(table, *columns).insert(), row)
    db.session.commit()
    db.session.remove()
    db.engine.dispose()  # the next session gets the very connection that migrated

    upgrade(directory=str(MIGRATIONS_DIR))

    assert counts() == (1, 1, 1, 1)
    db.session.execute(sa.update(Order).values(customer_zip="2" * 40))
    db.session.commit()
    for broken in (
        sa.update(Order).values(state="bogus"),
        sa.update(OrderEvent).values(order_id=order_id + 1),  # foreign keys are on again
    ):
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(broken)
            db.session.flush()
        db.session.rollback()
    db.session.remove()

    downgrade(directory=str(MIGRATIONS_DIR), revision=BEFORE_WIDE_ZIP)

    assert counts() == (1, 1, 1, 1)
    assert db.session.scalar(sa.select(Order.customer_zip)) == "2" * 20
    db.session.remove()
    upgrade(directory=str(MIGRATIONS_DIR))


def test_migrating_sqlite_leaves_its_foreign_keys_on(sqlite_url):
    app = create_app(shop_config(sqlite_url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        assert db.engine.pool.checkedin() == 1  # the connection that migrated
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()
