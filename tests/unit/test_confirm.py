"""The confirm step against a fake Avarda, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from shop.avarda import PurchaseState
from shop.extensions import db
from shop.models import Order, OrderEvent, OutboxEmail, Product
from shop.orders.confirm import ConfirmOutcome
from tests.unit.checkout_steps import checkout, confirm, events, order_of
from tests.unit.fakes import unavailable


def stock(sku: str) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(Product.stock).where(Product.sku == sku))


def emails() -> int:
    return db.session.scalar(sa.select(sa.func.count(OutboxEmail.id)))


def test_completed_purchase_pays_the_order_once(shop):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 2), ("BOOK-01", 1))
    before_mug, before_book = stock("MUG-01"), stock("BOOK-01")
    fake.complete(purchase_id, method=2)

    result = confirm(purchase_id, "callback")

    assert result.outcome is ConfirmOutcome.CONFIRMED_NOW
    order = order_of(purchase_id)
    assert order.state == "paid"
    assert order.confirmed_by == "callback" and order.confirmed_at is not None
    assert order.payment_method == "Card"
    assert order.customer_email == "anna@example.com"
    assert order.customer_last_name == "Andersson"
    assert (stock("MUG-01"), stock("BOOK-01")) == (before_mug - 2, before_book - 1)
    assert emails() == 1
    mail = db.session.scalars(sa.select(OutboxEmail)).one()
    assert mail.to_address == "anna@example.com" and order.number in mail.subject
    assert f"/orders/{order.token}" in mail.body  # the customer's way back to the order
    [event] = events(order)
    assert (event.path, event.attempt, event.avarda_state, event.outcome) == (
        "callback",
        1,
        "Completed",
        "paid",
    )


def test_duplicates_change_nothing_but_are_recorded(shop):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.complete(purchase_id)
    assert confirm(purchase_id, "browser").outcome is ConfirmOutcome.CONFIRMED_NOW
    after_first = stock("MUG-01")

    again = [confirm(purchase_id, p) for p in ("callback", "callback", "browser")]

    assert [r.outcome for r in again] == [ConfirmOutcome.ALREADY_CONFIRMED] * 3
    order = order_of(purchase_id)
    assert order.confirmed_by == "browser"
    assert stock("MUG-01") == after_first
    assert emails() == 1
    assert [(e.path, e.attempt, e.outcome) for e in events(order)] == [
        ("browser", 1, "paid"),
        ("callback", 1, "duplicate"),
        ("callback", 2, "duplicate"),
        ("browser", 2, "duplicate"),
    ]


@pytest.mark.parametrize(
    "state",
    [
        PurchaseState.NEW,
        PurchaseState.BEING_PROCESSED,
        PurchaseState.WAITING_FOR_SIGNICAT,
        PurchaseState.WAITING_FOR_CARD_PAYMENTS,
        PurchaseState.WAITING_FOR_BANK_ID,
        PurchaseState.WAITING_FOR_FINNISH_DIRECT_PAYMENT,
    ],
)
def test_unfinished_states_leave_the_order_pending(shop, state):
    _, fake = shop
    purchase_id, _ = checkout(("TEE-01", 1))
    fake.set_state(purchase_id, int(state))

    result = confirm(purchase_id, "callback")

    assert result.outcome is ConfirmOutcome.PENDING
    order = order_of(purchase_id)
    assert order.state == "pending" and order.confirmed_by is None
    assert [e.outcome for e in events(order)] == ["pending"]
    assert emails() == 0


@pytest.mark.parametrize(
    "state", [PurchaseState.ERROR, PurchaseState.SESSION_TIMED_OUT, PurchaseState.CANCELLED]
)
def test_dead_states_fail_the_order(shop, state):
    _, fake = shop
    purchase_id, _ = checkout(("TEE-01", 1))
    before = stock("TEE-01")
    fake.set_state(purchase_id, int(state))

    result = confirm(purchase_id, "browser")

    assert result.outcome is ConfirmOutcome.FAILED
    order = order_of(purchase_id)
    assert order.state == "failed"
    assert stock("TEE-01") == before and emails() == 0
    assert [(e.outcome, e.avarda_state) for e in events(order)] == [("failed", state.label)]


def test_late_error_after_paid_never_moves_the_order_back(shop):
    _, fake = shop
    purchase_id, _ = checkout(("LAMP-01", 1))
    fake.complete(purchase_id)
    confirm(purchase_id, "callback")
    fake.set_state(purchase_id, PurchaseState.ERROR.value)

    result = confirm(purchase_id, "admin")  # the browser path does not even ask

    assert result.outcome is ConfirmOutcome.ALREADY_CONFIRMED
    order = order_of(purchase_id)
    assert order.state == "paid" and order.confirmed_by == "callback"
    last = events(order)[-1]
    assert (last.avarda_state, last.outcome) == ("Error", "duplicate")
    assert "late Error ignored" in last.detail


def test_amount_mismatch_holds_the_order_for_review(shop):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))  # 149.00
    before = stock("MUG-01")
    fake.complete(purchase_id, price=Decimal("1.49"))

    result = confirm(purchase_id, "callback")

    assert result.outcome is ConfirmOutcome.ON_HOLD
    order = order_of(purchase_id)
    assert order.state == "on_hold" and order.confirmed_by == "callback"
    assert "Amount mismatch" in order.hold_reason
    assert order.avarda_price_minor == 149
    assert stock("MUG-01") == before and emails() == 0
    assert [e.outcome for e in events(order)] == ["held"]
    # and a later notification keeps it on hold
    assert confirm(purchase_id, "browser").outcome is ConfirmOutcome.ON_HOLD
    assert order_of(purchase_id).state == "on_hold"


def test_not_enough_stock_holds_a_paid_order(shop):
    _, fake = shop
    purchase_id, _ = checkout(("SOCKS-01", 3))
    db.session.execute(sa.update(Product).where(Product.sku == "SOCKS-01").values(stock=2))
    db.session.commit()
    fake.complete(purchase_id)

    result = confirm(purchase_id, "callback")

    assert result.outcome is ConfirmOutcome.ON_HOLD
    assert "not enough stock" in order_of(purchase_id).hold_reason
    assert stock("SOCKS-01") == 2 and emails() == 0


@pytest.mark.parametrize("error", [unavailable()])
def test_avarda_unreachable_changes_nothing(shop, error):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.complete(purchase_id)
    fake.status_error = error

    result = confirm(purchase_id, "callback")

    assert result.outcome is ConfirmOutcome.AVARDA_UNAVAILABLE
    order = order_of(purchase_id)
    assert order.state == "pending"
    assert [(e.outcome, e.avarda_state) for e in events(order)] == [("avarda_unavailable", None)]

    fake.status_error = None
    assert confirm(purchase_id, "callback").outcome is ConfirmOutcome.CONFIRMED_NOW
    fake.status_error = error
    assert confirm(purchase_id, "browser").outcome is ConfirmOutcome.ALREADY_CONFIRMED


def test_unknown_purchase_writes_nothing(shop):
    result = confirm("0" * 32, "callback")
    assert result.outcome is ConfirmOutcome.UNKNOWN_PURCHASE and result.order is None
    assert db.session.scalar(sa.select(sa.func.count(OrderEvent.id))) == 0


def test_completed_after_failed_goes_on_hold_not_lost(shop):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.set_state(purchase_id, PurchaseState.SESSION_TIMED_OUT.value)
    assert confirm(purchase_id, "sweep").outcome is ConfirmOutcome.FAILED
    fake.complete(purchase_id)

    result = confirm(purchase_id, "callback")

    assert result.outcome is ConfirmOutcome.ON_HOLD
    assert order_of(purchase_id).state == "on_hold"


def test_failed_order_with_avarda_down_asks_for_a_retry(shop):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.set_state(purchase_id, PurchaseState.ERROR.value)
    confirm(purchase_id, "browser")
    fake.status_error = unavailable()
    assert confirm(purchase_id, "callback").outcome is ConfirmOutcome.AVARDA_UNAVAILABLE


def test_concurrent_notifications_pay_once(shop):
    """Eight threads, each with its own app context and connection, confirm at once."""
    app, fake = shop
    purchase_id, _ = checkout(("COFFEE-01", 2))
    before = stock("COFFEE-01")
    fake.complete(purchase_id)
    db.session.remove()
    start = threading.Barrier(8)
    outcomes: list[ConfirmOutcome] = []
    errors: list[BaseException] = []

    def notify(path: str) -> None:
        with app.app_context():
            start.wait(5)
            try:
                outcomes.append(confirm(purchase_id, path).outcome)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=notify, args=("callback" if i % 3 else "browser",))
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert not errors, errors
    assert sorted(outcomes).count(ConfirmOutcome.CONFIRMED_NOW) == 1
    assert outcomes.count(ConfirmOutcome.ALREADY_CONFIRMED) == 7
    assert stock("COFFEE-01") == before - 2
    assert emails() == 1
    order = order_of(purchase_id)
    # Every notification is counted: back-to-back browser duplicates on one event.
    assert sum(1 + e.repeats for e in events(order)) == 8
    assert [e.outcome for e in events(order)].count("paid") == 1


def test_over_long_customer_details_are_cut_and_never_block_the_payment(shop):
    """Avarda's fields are for display: any length, even a NUL, must not stop the order
    from being paid (PostgreSQL refuses both; SQLite would store them)."""
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.complete(purchase_id)
    sent = {
        "Mail": "a" * 200 + "@example.com",
        "Phone": "0" * 200,
        "InvoicingFirstName": "F" * 200,
        "InvoicingLastName": "L" * 200,
        "InvoicingAddressLine1": "A" * 200,
        "InvoicingAddressLine2": "B" * 200,
        "InvoicingZip": "Z" * 200,
        "InvoicingCity": "Stock\x00holm" + "C" * 200,
        "CountryCode": "S" * 200,
    }
    fake.set_state(purchase_id, 2, PaymentMethod=1, **sent)

    assert confirm(purchase_id, "callback").outcome is ConfirmOutcome.CONFIRMED_NOW

    order = order_of(purchase_id)
    columns = Order.__table__.c
    stored = {
        "customer_email": sent["Mail"],
        "customer_phone": sent["Phone"],
        "customer_first_name": sent["InvoicingFirstName"],
        "customer_last_name": sent["InvoicingLastName"],
        "customer_address_line1": sent["InvoicingAddressLine1"],
        "customer_address_line2": sent["InvoicingAddressLine2"],
        "customer_zip": sent["InvoicingZip"],
        "customer_city": sent["InvoicingCity"].replace("\x00", ""),
        "customer_country": sent["CountryCode"],
        "payment_method": "Loan",
    }
    for name, value in stored.items():
        assert getattr(order, name) == value[: columns[name].type.length], name
    assert order.customer_city.startswith("Stockholm")


def test_protocol_length_customer_details_are_kept_whole(shop):
    """Avarda allows 40 characters in each Invoicing* field and 60 in Mail."""
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.complete(purchase_id)
    zip_code = "SE-" + "1" * 24  # 27 characters, as seen in the sandbox
    fake.set_state(purchase_id, 2, InvoicingZip=zip_code, Mail="m" * 48 + "@example.com")

    assert confirm(purchase_id, "callback").outcome is ConfirmOutcome.CONFIRMED_NOW

    order = order_of(purchase_id)
    assert order.customer_zip == zip_code and order.customer_email == "m" * 48 + "@example.com"
    for name in ("first_name", "last_name", "address_line1", "address_line2", "zip", "city"):
        assert Order.__table__.c[f"customer_{name}"].type.length >= 40, name
    assert Order.__table__.c.customer_email.type.length >= 60


def test_an_absurd_unknown_state_is_recorded_without_failing(shop):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.set_state(purchase_id, 10**60)

    assert confirm(purchase_id, "callback").outcome is ConfirmOutcome.NEEDS_ATTENTION

    order = order_of(purchase_id)
    [event] = events(order)
    length = OrderEvent.__table__.c.avarda_state.type.length
    assert event.avarda_state == f"State {10**60}"[:length]
    assert order.state == "pending" and f"State {10**60}" in (order.avarda_problem or "")
