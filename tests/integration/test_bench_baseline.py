"""The benchmark's baseline (``bench.baseline``) does the callback's unavoidable work
correctly: it is only a fair yardstick if it refuses, asks Avarda and writes as the shop
would."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from bench import baseline
from tests.harness import CALLBACK_PASSWORD, CALLBACK_USERNAME, Stack

AUTH = "Basic " + base64.b64encode(f"{CALLBACK_USERNAME}:{CALLBACK_PASSWORD}".encode()).decode()


@pytest.fixture
def callback(stack: Stack, tmp_path):
    url = f"sqlite:///{tmp_path / 'baseline.db'}"
    paid, waiting = stack.checkout().purchase_id, stack.checkout().purchase_id
    stack.complete(paid, callback=False)
    baseline.init_db(url, [paid, waiting])
    app = baseline.create_app({**stack.env, "BASELINE_DATABASE_URL": url})
    client = app.test_client()

    def post(body: str, authorization: str | None = AUTH):
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        return client.post(baseline.PATH, data=body, headers=headers)

    engine = sa.create_engine(url)
    yield post, paid, waiting, engine
    engine.dispose()


def orders(engine: sa.Engine) -> dict[str, tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(baseline.ORDERS)).all()
    return {pid: (state, count) for pid, state, count in rows}


def test_refuses_without_the_right_credentials_or_body(callback):
    post, paid, _waiting, engine = callback
    before = orders(engine)
    assert post(f'{{"purchaseId": "{paid}"}}', authorization=None).status_code == 401
    assert post(f'{{"purchaseId": "{paid}"}}', authorization=AUTH + "x").status_code == 401
    assert post("not json").status_code == 400
    assert post('{"purchaseId": 5}').status_code == 400
    assert orders(engine) == before


def test_asks_avarda_and_records_each_notification(callback):
    post, paid, waiting, engine = callback
    for _ in range(2):
        answer = post(f'{{"purchaseId": "{paid}"}}')
        assert answer.status_code == 200 and answer.json["state"] == "paid"
    answer = post(f'{{"purchaseId": "{waiting}"}}')
    assert answer.status_code == 200 and answer.json["state"] == "pending"
    assert orders(engine) == {paid: ("paid", 2), waiting: ("pending", 1)}


def test_unknown_order_is_404(callback, stack: Stack):
    post, _paid, _waiting, engine = callback
    other = stack.checkout().purchase_id  # Avarda knows it, the baseline has no order
    before = orders(engine)
    assert post(f'{{"purchaseId": "{other}"}}').status_code == 404
    assert orders(engine) == before
