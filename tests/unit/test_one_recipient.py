"""One e-mail, one recipient (issue 10): Avarda's ``Mail`` of ``a@x, victim@y`` sent the
confirmation to both. Now an address that is not exactly one usable address sends no
e-mail, the order needs attention, and no page promises an e-mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.mail.outbox import Claim, build_message
from shop.mail.transport import MailError
from shop.models import OutboxEmail
from shop.orders.backoffice import Attention, AttentionRules, order_detail
from tests.unit.checkout_steps import checkout, confirm, order_of

UNUSABLE = [
    "a@example.com, victim@example.org",
    "a@example.com;victim@example.org",
    "Anna <a@example.com>",
    "a@example.com\nBcc: victim@example.org",
    '"a b"@example.com',
    "a@localhost",
    "not an address",
    "",
]


def paid_with_mail(fake, mail: str) -> str:
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.complete(purchase_id)
    fake.set_state(purchase_id, 2, Mail=mail)
    assert confirm(purchase_id, "callback").order is not None
    return purchase_id


def attention(order) -> tuple[Attention, ...]:
    rules = AttentionRules(
        now=datetime.now(UTC), pending_age=timedelta(hours=1), undelivered_age=timedelta(days=9)
    )
    detail = order_detail(db.session(), order.number, rules)
    assert detail is not None
    return detail.reasons


@pytest.mark.parametrize("mail", UNUSABLE)
def test_an_unusable_address_sends_nothing_and_flags_the_order(shop, mail):
    _, fake = shop
    purchase_id = paid_with_mail(fake, mail)
    order = order_of(purchase_id)
    assert order.state == "paid"  # the payment stands; only the e-mail is missing
    row = db.session.scalars(sa.select(OutboxEmail)).one()
    assert row.failed_at is not None and row.next_attempt_at is None and row.sent_at is None
    assert "no usable recipient" in (row.last_error or "")
    assert Attention.EMAIL_FAILED in attention(order)
    app, _ = shop
    done = app.test_client().get(f"/checkout/done?purchaseId={purchase_id}")
    page = done.get_data(as_text=True)
    assert "Payment confirmed" in page and "e-mail is on its way" not in page
    status = app.test_client().get(f"/orders/{order.token}/status").get_json()
    assert status["confirmation_email"] is False


def test_one_usable_address_is_queued_as_the_only_recipient(shop):
    _, fake = shop
    purchase_id = paid_with_mail(fake, "Anna.Andersson@Example.com")
    row = db.session.scalars(sa.select(OutboxEmail)).one()
    assert row.failed_at is None and row.next_attempt_at is not None
    assert row.to_address == "Anna.Andersson@example.com"  # the domain normalised
    app, _ = shop
    done = app.test_client().get(f"/checkout/done?purchaseId={purchase_id}")
    assert "A confirmation e-mail is on its way to" in done.get_data(as_text=True)


@pytest.mark.parametrize("mail", [m for m in UNUSABLE if not m.startswith("Anna <")])
def test_the_mailer_never_sends_to_a_list(mail):
    claim = Claim(
        id=1,
        attempt=1,
        lease_until=datetime.now(UTC),
        kind="order_confirmation",
        to_address=mail,
        subject="Order 1",
        body="Thanks",
        created_at=datetime.now(UTC),
    )
    with pytest.raises(MailError) as raised:
        build_message(claim, "shop@example.com")
    assert raised.value.permanent


def test_the_message_has_exactly_one_recipient():
    claim = Claim(
        id=1,
        attempt=1,
        lease_until=datetime.now(UTC),
        kind="order_confirmation",
        to_address="anna@example.com",
        subject="Order 1",
        body="Thanks",
        created_at=datetime.now(UTC),
    )
    message = build_message(claim, "shop@example.com")
    assert message.get_all("To") == ["anna@example.com"]
    assert message.get_all("Cc") is None and message.get_all("Bcc") is None
