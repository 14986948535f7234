"""Browser returns to an order already final add no row each (issue 10): 200 anonymous
GETs of the done page for a known purchase added 200 events (and asked Avarda 200 times).
Now they count on the last event, and Avarda is not asked: nothing it could say would
change a paid, held or cancelled order."""

from __future__ import annotations

from shop.extensions import db
from tests.unit.checkout_steps import checkout, confirm, events, order_of


def test_done_page_hits_on_a_paid_order_count_on_one_event(shop):
    app, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.complete(purchase_id)
    confirm(purchase_id, "callback")
    asked = fake.count("GetPaymentStatus")
    client = app.test_client()
    for _ in range(200):
        assert client.get(f"/checkout/done?purchaseId={purchase_id}").status_code == 200
    rows = events(order_of(purchase_id))
    assert [(e.path, e.outcome, e.repeats) for e in rows] == [
        ("callback", "paid", 0),
        ("browser", "duplicate", 199),
    ]
    assert fake.count("GetPaymentStatus") == asked


def test_other_notifications_between_browser_returns_keep_their_own_rows(shop):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    fake.complete(purchase_id)
    for path in ("browser", "browser", "callback", "browser", "browser"):
        confirm(purchase_id, path)
    db.session.expire_all()
    rows = events(order_of(purchase_id))
    assert [(e.path, e.outcome, e.repeats) for e in rows] == [
        ("browser", "paid", 0),
        ("browser", "duplicate", 0),
        ("callback", "duplicate", 0),
        ("browser", "duplicate", 1),
    ]


def test_a_pending_order_is_still_checked_on_every_return(shop):
    _, fake = shop
    purchase_id, _ = checkout(("MUG-01", 1))
    for _ in range(3):
        confirm(purchase_id, "browser")
    assert fake.count("GetPaymentStatus") == 3
    assert [e.outcome for e in events(order_of(purchase_id))] == ["pending"] * 3
