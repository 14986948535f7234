"""The yardstick of scenario 1: the cheapest honest implementation of Avarda's callback.

It does only the work no implementation can skip, and nothing else:

1. a constant-time check of the ``Authorization`` header (HTTP Basic);
2. the JSON body parsed, its ``purchaseId`` read;
3. one GetPaymentStatus to Avarda (a kept-alive ``requests.Session`` per thread);
4. one committed row update: the order's state and a notification count, in a write
   transaction (``BEGIN IMMEDIATE`` on SQLite in WAL mode, as the shop's; a plain
   transaction on PostgreSQL, where the UPDATE takes the row lock).

No notification log, no events, no e-mail, no stock, no answers a person must see: the
shop does all of those, and the benchmark shows what they cost. It runs under the same
gunicorn command line as the shop (the Procfile's), asking the same sandbox.

Settings come from the environment (``create_app()`` is the gunicorn factory):
``BASELINE_DATABASE_URL``, ``AVARDA_BASE_URL``, ``AVARDA_SITE_CODE``,
``AVARDA_SITE_PASSWORD``, ``CALLBACK_USERNAME``, ``CALLBACK_PASSWORD``.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import threading
from collections.abc import Iterable, Mapping

import requests
import sqlalchemy as sa
from flask import Flask, Response, jsonify, request

from common.db import IMMEDIATE, configure_sqlite

PATH = "/avarda/purchase-completed"
#: Avarda's state number for Completed.
COMPLETED = 2

METADATA = sa.MetaData()
ORDERS = sa.Table(
    "baseline_order",
    METADATA,
    sa.Column("purchase_id", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("notifications", sa.Integer, nullable=False),
)


def init_db(url: str, purchase_ids: Iterable[str]) -> None:
    """The baseline's table with one pending order per purchase id."""
    engine = sa.create_engine(url)
    METADATA.drop_all(engine)
    METADATA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            ORDERS.insert(),
            [{"purchase_id": p, "state": "pending", "notifications": 0} for p in purchase_ids],
        )
    engine.dispose()


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    env = os.environ if env is None else env
    app = Flask(__name__)
    engine = sa.create_engine(env["BASELINE_DATABASE_URL"])
    configure_sqlite(engine)
    credentials = f"{env['CALLBACK_USERNAME']}:{env['CALLBACK_PASSWORD']}".encode()
    expected = b"Basic " + base64.b64encode(credentials)
    status_url = env["AVARDA_BASE_URL"].rstrip("/") + "/CheckOut2Api/GetPaymentStatus"
    site = (env["AVARDA_SITE_CODE"], env["AVARDA_SITE_PASSWORD"])
    local = threading.local()
    update = (
        ORDERS.update()
        .where(ORDERS.c.purchase_id == sa.bindparam("pid"))
        .values(state=sa.bindparam("state"), notifications=ORDERS.c.notifications + 1)
    )

    def avarda() -> requests.Session:
        session: requests.Session | None = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.auth = site
        return session

    @app.post(PATH)
    def purchase_completed() -> Response:
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(given, expected):
            return Response(status=401)
        try:
            purchase_id = json.loads(request.get_data())["purchaseId"]
            if not isinstance(purchase_id, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return Response(status=400)
        try:
            answer = avarda().post(status_url, json={"PurchaseId": purchase_id}, timeout=5)
        except requests.RequestException:
            return Response(status=503)
        if answer.status_code != 200:
            return Response(status=503)
        state = "paid" if answer.json().get("State") == COMPLETED else "pending"
        with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
            changed = conn.execute(update, {"pid": purchase_id, "state": state}).rowcount
        if not changed:
            return Response(status=404)
        return jsonify(purchaseId=purchase_id, state=state)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return app
