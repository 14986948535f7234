"""What the rest of the suite takes from the harness: a reset stack is a fresh shop, and a
newcomer without ``TEST_DATABASE_URL`` still gets PostgreSQL (a throwaway server)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order
from tests.harness import BOTH_DATABASES, POSTGRES_MISSING, postgres_database, skip_or_fail
from tests.harness.postgres import ThrowawayServer, server_bindir


def order_id(stack, token: str) -> int:
    return stack.query(lambda: db.session.scalar(sa.select(Order.id).where(Order.token == token)))


@BOTH_DATABASES
def test_a_reset_stack_is_a_fresh_shop_and_a_fresh_sandbox(stack):
    fresh = stack.snapshot()
    session = stack.checkout(("MUG-01", 2))
    first_id = order_id(stack, session.order_token)
    stack.complete(session.purchase_id)
    stack.deliver_until_done(session.purchase_id)
    assert stack.snapshot() != fresh

    stack.reset()

    assert stack.snapshot() == fresh
    assert stack.sandbox_api("GET", f"Purchases/{session.purchase_id}").status_code == 404
    again = stack.checkout(("MUG-01", 2))
    assert order_id(stack, again.order_token) == first_id  # ids start over, as in a new database


@pytest.mark.postgres
def test_a_throwaway_postgres_serves_fresh_databases_and_leaves_nothing_behind():
    bindir = server_bindir()
    if bindir is None:
        skip_or_fail(POSTGRES_MISSING)
    server = ThrowawayServer(bindir)
    try:
        url = server.start()
        assert sa.make_url(url).query["host"] == str(server.sockets)  # no TCP port
        with postgres_database(url) as database_url:
            engine = sa.create_engine(database_url)
            with engine.connect() as conn:
                name = conn.scalar(sa.text("SELECT current_database()"))
            engine.dispose()
            assert name == sa.make_url(database_url).database
    finally:
        server.stop()
    assert not server.base.exists()
