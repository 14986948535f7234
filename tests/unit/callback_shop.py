"""A shop app with a fake Avarda behind it and helpers to post server callbacks to it
through the Flask test client (no sockets)."""

from __future__ import annotations

import base64

import sqlalchemy as sa
from werkzeug.test import TestResponse

from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.models import Order, OrderEvent, OutboxEmail, Product
from shop.orders.checkout import begin_checkout
from tests.harness import CALLBACK_PASSWORD, CALLBACK_USERNAME, sqlite_shop_database
from tests.unit.fakes import make_app

PATH = "/avarda/purchase-completed"
UNKNOWN = "f" * 32


def basic(user: str | bytes, password: str | bytes) -> str:
    raw = (user if isinstance(user, bytes) else user.encode()) + b":"
    raw += password if isinstance(password, bytes) else password.encode()
    return "Basic " + base64.b64encode(raw).decode()


GOOD = basic(CALLBACK_USERNAME, CALLBACK_PASSWORD)


class Shop:
    def __init__(self, app, fake) -> None:
        self.app, self.fake = app, fake
        self.client = app.test_client()

    def order(self, complete: bool = True) -> str:
        with self.app.app_context():
            product = get_product_by_sku(db.session(), "MUG-01")
            purchase_id = begin_checkout(
                db.session(), avarda_client(), [(product.id, 1)], None
            ).purchase_id
        if complete:
            self.fake.complete(purchase_id)
        return purchase_id

    def post(self, body=None, auth: str | None = GOOD, **kwargs) -> TestResponse:
        headers = kwargs.pop("headers", {})
        if auth is not None:
            headers["Authorization"] = auth
        if body is not None and "data" not in kwargs:
            kwargs["json"] = body
        return self.client.post(PATH, headers=headers, **kwargs)

    def snapshot(self) -> tuple:
        with self.app.app_context():
            snap = (
                db.session.execute(sa.select(Order.id, Order.state, Order.updated_at)).all(),
                db.session.scalar(sa.select(sa.func.count(OrderEvent.id))),
                db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))),
                db.session.execute(sa.select(Product.id, Product.stock)).all(),
            )
            db.session.remove()
        return snap

    def state(self, purchase_id: str) -> str:
        with self.app.app_context():
            state = db.session.scalar(
                sa.select(Order.state).where(Order.purchase_id == purchase_id)
            )
            db.session.remove()
        return state


def make_shop(tmp_path, **overrides) -> Shop:
    app, fake = make_app(sqlite_shop_database(tmp_path), **overrides)
    return Shop(app, fake)
