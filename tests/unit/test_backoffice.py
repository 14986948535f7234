"""The back office's orders list and order page: search, filters, pages, counts, the
"needs attention" reasons, on SQLite and PostgreSQL; and the pages that show them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.extensions import db
from shop.models import CommerceAction, ConfirmPath, OrderState, OutboxEmail
from shop.orders.backoffice import Attention, AttentionRules, OrderFilters, list_orders
from tests.unit.backoffice_orders import NOW, RULES, make_order, reasons_of, text


def numbers(filters: OrderFilters, rules: AttentionRules = RULES) -> list[str]:
    return [row.order.number for row in list_orders(db.session(), filters, rules).rows]


def test_newest_first_in_pages_with_counts(shop):
    orders = [make_order(age=timedelta(minutes=m)) for m in range(120, 0, -1)]
    orders += [make_order("pending", age=timedelta(minutes=1)) for _ in range(3)]

    first = list_orders(db.session(), OrderFilters(), RULES, page_size=50)
    assert (first.total, first.pages, first.page) == (123, 3, 1)
    assert [r.order.number for r in first.rows[:4]] == [o.number for o in orders[::-1][:4]]
    assert first.counts == {"paid": 120, "pending": 3} and first.all_total == 123
    last = list_orders(db.session(), OrderFilters(page=3), RULES, page_size=50)
    assert [r.order.number for r in last.rows] == [o.number for o in orders[:23]][::-1]
    assert (last.first_index, last.last_index) == (101, 123)
    beyond = list_orders(db.session(), OrderFilters(page=9), RULES, page_size=50)
    assert beyond.rows == [] and beyond.total == 123


def test_search_by_number_email_name_and_purchase_id(shop):
    anna = make_order(email="Anna.Andersson@example.com", first="Anna", last="Andersson")
    bo = make_order(email="bo@example.org", first="Bo", last="Ek", number="260601-BEEF0001")
    odd = make_order(email="percent%_under@example.com", first="Per", last="Cent")

    assert numbers(OrderFilters(q="beef0001")) == [bo.number]  # number, any case
    assert numbers(OrderFilters(q="ANNA.ANDERSSON@")) == [anna.number]
    assert numbers(OrderFilters(q="  anna   andersson ")) == [anna.number]  # full name
    assert numbers(OrderFilters(q="ek")) == [bo.number]
    assert numbers(OrderFilters(q=anna.purchase_id.upper())) == [anna.number]
    assert numbers(OrderFilters(q=anna.purchase_id[:10])) == []  # ids match exactly
    assert numbers(OrderFilters(q="%")) == [odd.number]  # wildcards are plain text
    assert numbers(OrderFilters(q="_under")) == [odd.number]
    assert numbers(OrderFilters(q="nobody")) == []


def test_filters_by_state_and_path_keep_the_other_counts(shop):
    paid = make_order()
    browser = make_order(confirmed_by="browser")
    make_order("failed")

    listing = list_orders(db.session(), OrderFilters(state=OrderState.PAID), RULES)
    assert {r.order.number for r in listing.rows} == {paid.number, browser.number}
    assert listing.counts == {"paid": 2, "failed": 1}  # the state tabs stay countable
    assert numbers(OrderFilters(confirmed_by=ConfirmPath.BROWSER)) == [browser.number]
    by_path = list_orders(db.session(), OrderFilters(confirmed_by=ConfirmPath.BROWSER), RULES)
    assert by_path.counts == {"paid": 1} and by_path.all_total == 1


def test_each_attention_reason(shop):
    fine = make_order()
    held = make_order("on_hold")
    young_pending = make_order("pending", age=timedelta(minutes=1))
    old_pending = make_order("pending", age=timedelta(minutes=3))
    undelivered = make_order(age=timedelta(days=4))
    delivered = make_order(age=timedelta(days=4), delivered_minor=14900)
    closed = make_order(age=timedelta(days=4), delivered_minor=100, released_minor=14800)
    mail_failed = make_order()
    db.session.add(
        OutboxEmail(
            order_id=mail_failed.id, kind="order_confirmation", to_address="a@example.com",
            subject="s", body="b", failed_at=NOW, next_attempt_at=None,
        )
    )  # fmt: skip
    unconfirmed = make_order()
    stale = make_order()
    in_flight = make_order()
    refused_then_ok = make_order()
    refused_last = make_order()
    for order, statuses in [
        (unconfirmed, ["unknown"]),
        (stale, ["requested"]),
        (in_flight, ["requested"]),
        (refused_then_ok, ["refused", "applied"]),
        (refused_last, ["applied", "refused"]),
    ]:
        for status in statuses:
            lease = NOW + timedelta(minutes=1) if order is in_flight else NOW - timedelta(minutes=1)
            db.session.add(
                CommerceAction(
                    order_id=order.id, kind="refund", status=status,
                    tran_id=f"{order.id}-{status}", amount_minor=100, lease_until=lease,
                )
            )  # fmt: skip
    db.session.commit()

    expected = {
        fine: set(),
        held: {Attention.ON_HOLD},
        young_pending: set(),
        old_pending: {Attention.PENDING_TOO_LONG},
        undelivered: {Attention.UNDELIVERED},
        delivered: set(),
        closed: set(),
        mail_failed: {Attention.EMAIL_FAILED},
        unconfirmed: {Attention.COMMERCE_UNCONFIRMED},
        stale: {Attention.COMMERCE_UNCONFIRMED},
        in_flight: set(),
        refused_then_ok: set(),
        refused_last: {Attention.COMMERCE_REFUSED},
    }
    assert {o.number: reasons_of(o) for o in expected} == {o.number: r for o, r in expected.items()}
    listing = list_orders(db.session(), OrderFilters(attention=True), RULES)
    wanted = {o.number: r for o, r in expected.items() if r}
    assert {row.order.number: set(row.reasons) for row in listing.rows} == wanted
    assert listing.attention_total == len(wanted) == listing.total
    assert listing.all_total == len(expected)


# -- the pages -------------------------------------------------------------------------


@pytest.fixture
def admin(shop):
    app, _ = shop
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["UNDELIVERED_ALERT_DAYS"] = 3650.0  # the test orders are from NOW, long ago
    client = app.test_client()
    response = client.post(
        "/admin/login", data={"email": "admin@example.com", "password": "admin-password"}
    )
    assert response.status_code == 303
    return client


@pytest.mark.parametrize(
    "query, message",
    [
        ("page=0", "page must be a whole number"),
        ("page=x", "page must be a whole number"),
        ("state=shipped", "Unknown state 'shipped'"),
        ("confirmed_by=fax", "Unknown confirmed_by 'fax'"),
    ],
)
def test_bad_filters_are_a_clear_400(admin, query, message):
    response = admin.get(f"/admin/orders?{query}", headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert message in text(response)


def test_the_list_page_searches_and_pages(admin):
    for m in range(55):
        make_order(age=timedelta(minutes=200 - m), email=f"c{m}@example.com")
    make_order("on_hold", email="held@example.com")

    page = text(admin.get("/admin/orders"))
    assert "Showing 1–50 of 56 orders" in page and "Page 1 of 2" in page
    assert "Needs attention (1)" in page and "On hold for review (1)" in page
    second = admin.get("/admin/orders?page=2").get_data(as_text=True)
    assert "Showing 51–56 of 56" in text(admin.get("/admin/orders?page=2"))
    assert 'rel="prev"' in second and 'rel="next"' not in second

    found = text(admin.get("/admin/orders?q=held%40example"))
    assert "held@example.com" in found and "c1@example.com" not in found
    assert "Showing 1–1 of 1 order," in found
    attention = text(admin.get("/admin/orders?view=attention"))
    assert "held@example.com" in attention and "On hold" in attention
    assert "c3@example.com" not in attention
    assert "No orders match these filters" in text(admin.get("/admin/orders?q=zzz"))


def test_the_order_page_answers_did_they_pay_and_how_we_know(admin):
    order = make_order(
        email="anna@example.com", first="Anna", last="Andersson",
        customer_address_line1="Storgatan 1", customer_zip="111 22", customer_city="Stockholm",
        payment_method="Invoice", delivered_minor=5000, refunded_minor=1000,
    )  # fmt: skip
    page = text(admin.get(f"/admin/orders/{order.number}"))
    assert "Confirmed by Avarda's server-side callback ( callback )" in page
    assert "Invoice" in page and order.purchase_id in page
    assert "Storgatan 1" in page and "111 22 Stockholm" in page
    assert "Delivered 50,00 kr" in page and "Refunded 10,00 kr" in page
    assert "Still open (may be delivered) 99,00 kr" in page
    assert "May still be refunded 40,00 kr" in page
    assert "No call to Avarda since the payment." in page
    html_page = admin.get(f"/admin/orders/{order.number}").get_data(as_text=True)
    assert f'/CheckOut2/Sandbox/purchases/{order.purchase_id}">open in the sandbox' in html_page
    assert admin.get("/admin/orders/" + "X" * 40).status_code == 404
    assert admin.get("/admin/orders/260601-NOPE").status_code == 404


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "4000"])
def test_the_undelivered_alert_age_must_be_a_sane_number_of_days(tmp_path, value):
    from shop.config import ConfigError, build_config

    with pytest.raises(ConfigError, match="UNDELIVERED_ALERT_DAYS"):
        build_config(str(tmp_path), {"SECRET_KEY": "k", "UNDELIVERED_ALERT_DAYS": value})
