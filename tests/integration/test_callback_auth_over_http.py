"""The sandbox's static Authorization header against the shop's check, over real HTTP.

Avarda sends one static header per merchant: Basic, or a long-lived JWT. These tests
configure the sandbox's merchant as Avarda's support would and show which header the
shop accepts, and that a refused callback is retried, never lost.
"""

from __future__ import annotations

import time

import jwt

from tests.harness import JWT_SECRET


def long_lived_token(secret: str = JWT_SECRET) -> str:
    """What a merchant hands Avarda: a JWT valid for ten years."""
    now = int(time.time())
    return jwt.encode(
        {"sub": "avarda-callback", "iat": now, "exp": now + 10 * 365 * 86400},
        secret,
        algorithm="HS256",
    )


def test_a_static_bearer_jwt_from_avarda_is_accepted(stack):
    stack.merchant(callback_authorization={"scheme": "Bearer", "token": long_lived_token()})
    session = stack.checkout()
    stack.complete(session.purchase_id)

    [delivery] = stack.deliver_until_done(session.purchase_id)

    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
    facts = stack.facts(session.order_token)
    assert facts["state"] == "paid" and facts["confirmed_by"] == "callback"


def test_a_jwt_signed_with_another_key_is_refused_and_retried(stack):
    forged = long_lived_token("another-secret-that-is-also-32-bytes-long!")
    stack.merchant(callback_authorization={"scheme": "Bearer", "token": forged})
    session = stack.checkout()
    stack.complete(session.purchase_id)

    stack.run_delivery()
    [delivery] = stack.deliveries(session.purchase_id)
    assert delivery["status"] == "pending"
    assert delivery["attempts"][0]["status_code"] == 401
    assert stack.facts(session.order_token)["state"] == "pending"

    # Support fixes the header; the pending delivery's next attempt gets through.
    stack.merchant(callback_authorization={"scheme": "Bearer", "token": long_lived_token()})
    [delivery] = stack.deliver_until_done(session.purchase_id)
    assert delivery["status"] == "delivered"
    assert stack.facts(session.order_token)["confirmed_by"] == "callback"


def test_no_authorization_header_is_refused(stack):
    stack.merchant(callback_authorization={"scheme": "None"})
    session = stack.checkout()
    stack.complete(session.purchase_id)

    stack.run_delivery()

    [delivery] = stack.deliveries(session.purchase_id)
    assert delivery["attempts"][0]["status_code"] == 401
    assert stack.facts(session.order_token)["state"] == "pending"
