"""Issue 7 item 6: the delivery address is kept apart from the invoicing address, shown on
the customer's order page and used in the confirmation e-mail."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import ConfirmPath, Order, OutboxEmail
from shop.orders.checkout import begin_checkout
from shop.orders.confirm import ConfirmOutcome, confirm_purchase

DELIVERY = {
    "UseDifferentDeliveryAddress": True,
    "DeliveryFirstName": "Bo",
    "DeliveryLastName": "Berg",
    "DeliveryAddressLine1": "Lillgatan 2",
    "DeliveryAddressLine2": "c/o Svensson",
    "DeliveryZip": "41301",
    "DeliveryCity": "Göteborg",
}


def paid(fake, **fields: object) -> Order:
    product = get_product_by_sku(db.session(), "MUG-01")
    purchase_id = begin_checkout(db.session(), avarda_client(), [(product.id, 1)], None).purchase_id
    fake.complete(purchase_id)
    fake.set_state(purchase_id, 2, **fields)
    result = confirm_purchase(
        db.session(),
        avarda_client(),
        purchase_id,
        ConfirmPath.CALLBACK,
        shop_url=current_app.config["SHOP_PUBLIC_URL"],
    )
    assert result.outcome is ConfirmOutcome.CONFIRMED_NOW
    db.session.expire_all()
    return db.session.scalars(sa.select(Order).where(Order.purchase_id == purchase_id)).one()


def test_a_separate_delivery_address_is_stored_apart_from_the_invoicing_one(shop):
    _, fake = shop
    order = paid(fake, **DELIVERY)
    assert order.has_delivery_address and order.delivery_name == "Bo Berg"
    assert (order.delivery_address_line1, order.delivery_address_line2) == (
        "Lillgatan 2",
        "c/o Svensson",
    )
    assert (order.delivery_zip, order.delivery_city) == ("41301", "Göteborg")
    assert (order.customer_first_name, order.customer_city) == ("Anna", "Stockholm")


def test_without_one_the_delivery_columns_stay_empty(shop):
    _, fake = shop
    order = paid(fake, UseDifferentDeliveryAddress=False, DeliveryFirstName=None)
    assert not order.has_delivery_address and order.delivery_city is None


def test_the_order_page_shows_both_addresses(shop):
    app, fake = shop
    order = paid(fake, **DELIVERY)
    page = app.test_client().get(f"/orders/{order.token}").get_data(as_text=True)
    delivery = page.split("data-delivery-address>")[1].split("</dd>")[0]
    invoicing = page.split("data-invoicing-address>")[1].split("</dd>")[0]
    assert "Bo Berg" in delivery and "c/o Svensson" in delivery and "41301 Göteborg" in delivery
    assert "Anna Andersson" in invoicing and "Storgatan 1" in invoicing
    assert "Lillgatan" not in invoicing


def test_the_order_page_says_when_delivery_goes_to_the_invoicing_address(shop):
    app, fake = shop
    order = paid(fake)
    page = app.test_client().get(f"/orders/{order.token}").get_data(as_text=True)
    assert "data-delivery-address>Same as the invoicing address</dd>" in page


def test_the_email_names_the_delivery_address(shop):
    _, fake = shop
    order = paid(fake, **DELIVERY)
    body = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.order_id == order.id)).one()
    text = body.body
    assert (
        "We will deliver to:\n  Bo Berg\n  Lillgatan 2\n  c/o Svensson\n  41301 Göteborg\n" in text
    )
    assert "Storgatan" not in text


def test_the_email_without_a_delivery_address_uses_the_invoicing_one(shop):
    _, fake = shop
    order = paid(fake)
    body = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.order_id == order.id)).one()
    assert (
        "We will deliver to your invoicing address:\n  Anna Andersson\n  Storgatan 1\n" in body.body
    )
