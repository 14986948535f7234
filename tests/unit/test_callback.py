"""POST /avarda/purchase-completed through the Flask test client, with a fake Avarda behind it.

Every refused request must leave the database exactly as it was; no input gives a 500.
What only a real HTTP server shows (raw header bytes, chunked bodies) is tested over a
socket in ``tests/integration/test_callback_endpoint.py``.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import time
from collections.abc import Iterator

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from werkzeug.test import TestResponse

from shop.avarda import PurchaseState
from shop.extensions import db
from tests.harness import CALLBACK_PASSWORD, CALLBACK_USERNAME, JWT_SECRET
from tests.unit.callback_shop import GOOD, PATH, UNKNOWN, Shop, basic, make_shop
from tests.unit.fakes import unavailable


@pytest.fixture
def shop(tmp_path) -> Iterator[Shop]:
    s = make_shop(tmp_path, CALLBACK_JWT_SECRET=JWT_SECRET)
    yield s
    with s.app.app_context():
        db.engine.dispose()


def assert_unauthorized(response: TestResponse) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="Avarda callback"')
    assert response.json == {
        "error": "unauthorized",
        "message": "Valid callback credentials are required.",
    }


# -- success -----------------------------------------------------------------------------
def test_valid_basic_confirms_and_repeats_are_200(shop):
    purchase_id = shop.order()
    first = shop.post({"purchaseId": purchase_id, "ignored": {"State": 2}})
    assert first.status_code == 200
    assert first.json["outcome"] == "confirmed_now" and first.json["state"] == "paid"
    again = shop.post({"purchaseId": purchase_id})
    assert again.status_code == 200 and again.json["outcome"] == "already_confirmed"


def test_json_with_charset_is_accepted(shop):
    purchase_id = shop.order()
    response = shop.post(
        data=json.dumps({"purchaseId": purchase_id}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_rotation_accepts_the_previous_password(tmp_path):
    shop = make_shop(
        tmp_path, CALLBACK_PASSWORD="new-password", CALLBACK_PREVIOUS_PASSWORD="old-pw"
    )
    for password in ("new-password", "old-pw"):
        purchase_id = shop.order()
        response = shop.post({"purchaseId": purchase_id}, auth=basic(CALLBACK_USERNAME, password))
        assert response.status_code < 400
    assert_unauthorized(shop.post({"purchaseId": shop.order()}, auth=GOOD))


def test_static_bearer_jwt(shop):
    purchase_id = shop.order()
    token = jwt.encode({"sub": "avarda", "exp": int(time.time()) + 3600}, JWT_SECRET, "HS256")
    assert shop.post({"purchaseId": purchase_id}, auth=f"Bearer {token}").status_code == 200


def test_jwt_refused_when_not_configured(tmp_path):
    shop = make_shop(tmp_path)
    token = jwt.encode({"sub": "avarda"}, JWT_SECRET, "HS256")
    assert_unauthorized(shop.post({"purchaseId": shop.order()}, auth=f"Bearer {token}"))


# -- refused without touching anything ---------------------------------------------------
def bearer(payload: dict, key: str = JWT_SECRET, alg: str = "HS256") -> str:
    return "Bearer " + jwt.encode(payload, key, alg)


BAD_AUTH = {
    "missing": None,
    "empty": "",
    "scheme only": "Basic",
    "wrong user": basic("someone", CALLBACK_PASSWORD),
    "wrong password": basic(CALLBACK_USERNAME, "nope"),
    "empty password": basic(CALLBACK_USERNAME, ""),
    "no colon": "Basic " + base64.b64encode(CALLBACK_USERNAME.encode()).decode(),
    "not base64": "Basic %%%not-base64%%%",
    "non-ascii password": basic(CALLBACK_USERNAME, "lösenord".encode()),
    "latin-1 bytes": basic(CALLBACK_USERNAME.encode(), b"\xff\xfe\xe9"),
    "other scheme, good credentials": GOOD.replace("Basic", "Digest", 1),
    "token scheme": GOOD.replace("Basic", "Token", 1),
    "bearer garbage": "Bearer not.a.jwt",
    "bearer wrong key": bearer({"sub": "x"}, key="another-secret-that-is-32-bytes-long!!"),
    "bearer expired": bearer({"exp": 1}),
    "bearer alg none": "Bearer " + jwt.encode({"sub": "x"}, None, "none"),
}


@pytest.mark.parametrize("auth", BAD_AUTH.values(), ids=BAD_AUTH.keys())
def test_bad_credentials_get_one_identical_401(shop, auth):
    purchase_id = shop.order()
    before = shop.snapshot()
    assert_unauthorized(shop.post({"purchaseId": purchase_id}, auth=auth))
    assert shop.snapshot() == before
    assert shop.fake.count("GetPaymentStatus") == 0


def test_auth_comes_before_the_body(shop):
    """Even an oversized, wrongly typed body gets 401 without credentials."""
    response = shop.post(auth=None, data=b"x" * 100_000, headers={"Content-Type": "text/plain"})
    assert_unauthorized(response)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_wrong_content_type_is_415(shop, content_type):
    purchase_id = shop.order()
    before = shop.snapshot()
    headers = {"Content-Type": content_type} if content_type else {}
    response = shop.post(data=json.dumps({"purchaseId": purchase_id}), headers=headers)
    assert response.status_code == 415
    assert shop.snapshot() == before


def test_large_body_is_413(shop):
    purchase_id = shop.order()
    before = shop.snapshot()
    body = {"purchaseId": purchase_id, "padding": "x" * 5000}
    assert shop.post(body).status_code == 413
    assert shop.snapshot() == before


BAD_BODIES = {
    "empty": b"",
    "not json": b"purchaseId=abc",
    "truncated": b'{"purchaseId": "',
    "list": b'["' + b"a" * 32 + b'"]',
    "string": b'"' + b"a" * 32 + b'"',
    "null": b"null",
    "duplicate keys": b'{"purchaseId": "' + b"a" * 32 + b'", "purchaseId": "' + b"b" * 32 + b'"}',
    "deep nesting": b'{"purchaseId": "' + b"a" * 32 + b'", "x": ' + b"[" * 50 + b"]" * 50 + b"}",
    "NaN": b'{"purchaseId": "' + b"a" * 32 + b'", "x": NaN}',
    "invalid utf-8": b'{"purchaseId": "\xff' + b"a" * 31 + b'"}',
    "missing id": b'{"purchase_id": "' + b"a" * 32 + b'"}',
    "number id": b'{"purchaseId": 12345}',
    "uppercase id": b'{"purchaseId": "' + b"A" * 32 + b'"}',
    "short id": b'{"purchaseId": "' + b"a" * 31 + b'"}',
    "id with newline": b'{"purchaseId": "' + b"a" * 32 + b'\\n"}',
    "id with traversal": b'{"purchaseId": "../../' + b"a" * 26 + b'"}',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_are_400(shop, body):
    shop.order()
    before = shop.snapshot()
    response = shop.post(data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "bad_request"
    assert shop.snapshot() == before
    assert shop.fake.count("GetPaymentStatus") == 0


def test_unknown_purchase_is_404_and_writes_nothing(shop):
    shop.order()
    before = shop.snapshot()
    response = shop.post({"purchaseId": UNKNOWN})
    assert response.status_code == 404 and response.json["error"] == "unknown_purchase"
    assert shop.snapshot() == before


def test_not_completed_yet_is_503(shop):
    purchase_id = shop.order(complete=False)
    shop.fake.set_state(purchase_id, PurchaseState.WAITING_FOR_CARD_PAYMENTS.value)
    response = shop.post({"purchaseId": purchase_id})
    assert response.status_code == 503 and response.json["error"] == "pending"
    assert shop.state(purchase_id) == "pending"


def test_avarda_unavailable_is_503(shop):
    purchase_id = shop.order()
    shop.fake.status_error = unavailable()
    response = shop.post({"purchaseId": purchase_id})
    assert response.status_code == 503 and response.json["error"] == "avarda_unavailable"
    assert shop.state(purchase_id) == "pending"


def test_database_error_is_503_not_500(shop, monkeypatch):
    purchase_id = shop.order()

    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(sys.modules["shop.orders.callback"], "confirm_purchase", broken)
    response = shop.post({"purchaseId": purchase_id})
    assert response.status_code == 503 and response.json["error"] == "busy"


@pytest.mark.parametrize("error", [RuntimeError("boom"), ValueError("timeout must be > 0")])
def test_any_confirm_failure_is_logged_and_503_not_500(shop, monkeypatch, caplog, error):
    purchase_id = shop.order()

    def broken(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(sys.modules["shop.orders.callback"], "confirm_purchase", broken)
    with caplog.at_level(logging.ERROR, logger="shop.orders.callback"):
        response = shop.post({"purchaseId": purchase_id})

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.json["purchaseId"] == purchase_id
    assert shop.state(purchase_id) == "pending"
    [record] = [r for r in caplog.records if r.name == "shop.orders.callback"]
    assert record.exc_info and record.exc_info[1] is error and purchase_id in record.getMessage()
    assert CALLBACK_PASSWORD not in caplog.text and GOOD not in caplog.text


def test_get_is_405(shop):
    response = shop.client.get(PATH, headers={"Authorization": GOOD})
    assert response.status_code == 405


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=st.binary(max_size=40), password=st.binary(max_size=40))
def test_random_credentials_never_authenticate_or_crash(shop, user, password):
    response = shop.post({"purchaseId": UNKNOWN}, auth=basic(user, password))
    assert response.status_code == 401


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=300))
def test_random_bodies_never_crash(shop, body):
    response = shop.post(data=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 404)
