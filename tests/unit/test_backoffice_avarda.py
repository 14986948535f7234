"""The back office shows what Avarda said: answers needing a person, the delivery address,
and which order replaced a pending one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop.extensions import db
from shop.orders.backoffice import Attention, OrderFilters, list_orders
from tests.unit.backoffice_orders import RULES, make_order, reasons_of, text


@pytest.fixture
def admin(shop):
    app, _ = shop
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["UNDELIVERED_ALERT_DAYS"] = 3650.0
    client = app.test_client()
    response = client.post(
        "/admin/login", data={"email": "admin@example.com", "password": "admin-password"}
    )
    assert response.status_code == 303
    return client


def test_an_answer_the_shop_cannot_act_on_needs_attention(shop):
    problem = "Avarda reports State 12, which this shop does not know."
    odd = make_order("pending", age=timedelta(seconds=5), avarda_problem=problem)
    fine = make_order("pending", age=timedelta(seconds=5))
    assert reasons_of(odd) == {Attention.AVARDA_ANSWER} and reasons_of(fine) == set()
    listing = list_orders(db.session(), OrderFilters(attention=True), RULES)
    assert [row.order.number for row in listing.rows] == [odd.number]


def test_the_order_page_shows_avardas_answer_and_the_replacing_order(admin):
    replacing = make_order("pending")
    order = make_order(
        "pending",
        avarda_problem="Avarda reports Method 10, which this shop does not know.",
        replaced_by_number=replacing.number,
    )
    page = text(admin.get(f"/admin/orders/{order.number}"))
    assert "Avarda's answer not understood" in page
    assert "Avarda reports Method 10, which this shop does not know." in page
    assert f"The customer's cart moved to order {replacing.number}" in page


def test_the_order_page_shows_where_to_deliver(admin):
    apart = make_order(
        first="Anna", last="Andersson", customer_address_line1="Storgatan 1",
        customer_city="Stockholm", delivery_first_name="Bo", delivery_last_name="Berg",
        delivery_address_line1="Lillgatan 2", delivery_zip="41301", delivery_city="Göteborg",
    )  # fmt: skip
    same = make_order(customer_address_line1="Storgatan 1", customer_city="Stockholm")
    page = text(admin.get(f"/admin/orders/{apart.number}"))
    assert "Deliver to Bo Berg Lillgatan 2 41301 Göteborg" in page
    page = text(admin.get(f"/admin/orders/{same.number}"))
    assert (
        "Deliver to The invoicing address (the customer gave no separate delivery address)" in page
    )
