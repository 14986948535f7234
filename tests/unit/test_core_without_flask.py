"""The framework-free core on a plain SQLAlchemy session, with no Flask app anywhere.

This is what a shop in another framework does with the core: an engine with the SQLite
recipe, the models' metadata, a ``Session``, an Avarda client (here the fake) and plain
settings values.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from common.db import configure_sqlite, utcnow
from shop.catalog import get_product_by_sku, seed_catalogue
from shop.mail.outbox import send_due
from shop.models import Base, ConfirmPath, Order, OrderEvent
from shop.orders.checkout import begin_checkout
from shop.orders.confirm import ConfirmOutcome, confirm_purchase
from shop.orders.sweep import sweep
from tests.unit.fakes import FakeAvarda

ROOT = Path(__file__).resolve().parents[2]
SHOP_URL = "https://shop.example"


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'core.db'}")
    configure_sqlite(engine)
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        seed_catalogue(session)
        yield session
    engine.dispose()


def start(session: Session, fake: FakeAvarda) -> str:
    mug = get_product_by_sku(session, "MUG-01")
    assert mug is not None
    return begin_checkout(session, fake, [(mug.id, 2)], None).purchase_id


def test_checkout_and_confirm_on_a_plain_session(session: Session) -> None:
    fake = FakeAvarda()
    purchase_id = start(session, fake)
    fake.complete(purchase_id)

    first = confirm_purchase(session, fake, purchase_id, ConfirmPath.CALLBACK, shop_url=SHOP_URL)
    again = confirm_purchase(session, fake, purchase_id, ConfirmPath.BROWSER, shop_url=SHOP_URL)

    assert (first.outcome, again.outcome) == (
        ConfirmOutcome.CONFIRMED_NOW,
        ConfirmOutcome.ALREADY_CONFIRMED,
    )
    order = session.scalars(sa.select(Order)).one()
    assert (order.state, order.confirmed_by) == ("paid", "callback")
    paths = session.scalars(sa.select(OrderEvent.path).order_by(OrderEvent.id)).all()
    assert paths == ["callback", "browser"]

    sent: list[EmailMessage] = []

    class Recorder:
        def send(self, message: EmailMessage) -> None:
            sent.append(message)

    report = send_due(session, Recorder(), sender="shop@example.com")
    assert report.sent == 1
    assert f"{SHOP_URL}/orders/{order.token}" in sent[0].get_content()


def test_sweep_on_a_plain_session(session: Session) -> None:
    fake = FakeAvarda()
    purchase_id = start(session, fake)
    fake.complete(purchase_id)

    report = sweep(
        session,
        fake,
        min_age=60,
        shop_url=SHOP_URL,
        now=utcnow() + timedelta(seconds=61),
    )

    assert report.checked == 1 and report.outcomes == {"confirmed_now": 1}
    assert session.scalars(sa.select(Order.confirmed_by)).one() == "sweep"


def test_the_core_imports_no_flask() -> None:
    code = (
        "import sys\n"
        "import common.db, shop.avarda, shop.catalog, shop.mail.outbox, shop.mail.transport,"
        " shop.models, shop.orders.admins, shop.orders.backoffice, shop.orders.callback,"
        " shop.orders.checkout, shop.orders.commerce, shop.orders.confirm, shop.orders.queries,"
        " shop.orders.sweep, shop.texts, shop.transactions\n"
        "flask = sorted(m for m in sys.modules if m.split('.')[0].startswith('flask'))\n"
        "print(flask)\n"
        "sys.exit(1 if flask else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
