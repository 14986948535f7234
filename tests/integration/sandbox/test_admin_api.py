"""The admin JSON API: auth, scripted completion (one transaction), merchant settings."""

from __future__ import annotations

import base64
import sqlite3
from contextlib import closing

import pytest

from sandbox import create_app, init_db, merchants
from sandbox.db import db
from tests.integration.sandbox.support import ADMIN, SITE_CODE, UNREACHABLE, base_config


def test_admin_api_needs_the_sandbox_admin_login(sandbox):
    purchase_id = sandbox.initialize()
    calls = [
        ("GET", f"Purchases/{purchase_id}", None),
        ("POST", f"Purchases/{purchase_id}/Complete", {"PaymentMethod": "Invoice"}),
        ("GET", f"Merchants/{SITE_CODE}", None),
        ("PUT", f"Merchants/{SITE_CODE}", {"callback_copies": 3}),
        ("POST", "Deliveries/1/Redeliver", None),
    ]
    for verb, path, body in calls:
        for auth in (None, (ADMIN[0], "wrong"), ("wrong", ADMIN[1])):
            response = sandbox.admin(verb, path, auth=auth, json=body)
            assert response.status_code == 401, (verb, path, auth)
        sandbox.admin("GET", "Purchases")  # a success resets the failed-login count
    assert sandbox.status(purchase_id)["State"] == 0
    assert sandbox.settings()["callback_copies"] == 1


def test_without_an_admin_password_nobody_gets_in(make_sandbox):
    sandbox = make_sandbox(SANDBOX_ADMIN_PASSWORD="")
    response = sandbox.admin("GET", f"Merchants/{SITE_CODE}", auth=(ADMIN[0], ""))
    assert response.status_code == 401


def test_complete_then_read_at_once_shows_completed_with_its_delivery(sandbox):
    purchase_id = sandbox.initialize()
    url = "http://127.0.0.1:9/callback"
    body = sandbox.complete(purchase_id, PurchaseCompletedCallbackUrl=url, Mail="b@example.com")
    assert body["State"] == 2 and body["PaymentMethod"] == 0 and body["Completed"]
    assert body["Mail"] == "b@example.com"
    assert body["InvoicingFirstName"]  # demo customer filled in
    status = sandbox.status(purchase_id)
    assert (status["State"], status["Completed"]) == (2, body["Completed"])
    [delivery] = sandbox.purchase(purchase_id)["deliveries"]
    assert delivery["url"] == url and delivery["status"] == "pending"
    assert delivery["attempt_count"] == 0 and delivery["attempts"] == []


def test_completing_twice_changes_nothing_and_queues_no_second_callback(sandbox):
    purchase_id = sandbox.initialize()
    first = sandbox.complete(purchase_id, PurchaseCompletedCallbackUrl="http://127.0.0.1:9/cb")
    second = sandbox.complete(
        purchase_id, "Card", PurchaseCompletedCallbackUrl="http://127.0.0.1:9/x"
    )
    assert second["Completed"] == first["Completed"] and second["PaymentMethod"] == 0
    assert len(second["deliveries"]) == 1


def test_no_delivery_without_a_url_or_with_callbacks_disabled(sandbox):
    without_url = sandbox.initialize()
    assert sandbox.complete(without_url)["deliveries"] == []
    sandbox.settings(callback_enabled=False)
    disabled = sandbox.initialize()
    body = sandbox.complete(disabled, PurchaseCompletedCallbackUrl="http://127.0.0.1:9/cb")
    assert body["State"] == 2 and body["deliveries"] == []


@pytest.mark.parametrize(
    ("method", "states", "wire_method"),
    [
        ("Invoice", [0, 1, 2], 0),
        ("Loan", [0, 1, 4, 2], 1),
        ("PartPayment", [0, 1, 7, 2], 4),
        ("Card", [0, 1, 6, 2], 2),
        ("DirectPayment", [0, 1, 9, 2], 3),
        ("Fail", [0, 1, 3], None),
    ],
)
def test_scripted_methods_pass_through_their_states(sandbox, method, states, wire_method):
    purchase_id = sandbox.initialize()
    body = sandbox.complete(purchase_id, method)
    assert [change["to"] for change in body["history"]] == states
    assert body["PaymentMethod"] == wire_method
    assert (body["Completed"] is not None) == (states[-1] == 2)


WAITING = [("Loan", 4), ("PartPayment", 7), ("Card", 6), ("DirectPayment", 9)]


@pytest.mark.parametrize(("method", "waiting"), WAITING)
def test_a_declined_step_returns_to_the_form_without_a_result(sandbox, method, waiting):
    purchase_id = sandbox.initialize()
    body = sandbox.complete(purchase_id, method, Step="decline")
    assert [change["to"] for change in body["history"]] == [0, 1, waiting, 1]
    assert (body["State"], body["PaymentMethod"], body["Completed"]) == (1, None, None)
    assert body["StatusMessage"].endswith("was declined. Choose another payment method.")
    again = sandbox.complete(purchase_id, "Invoice")
    assert again["State"] == 2 and again["StatusMessage"] is None


@pytest.mark.parametrize(("method", "waiting"), WAITING)
def test_a_failed_step_ends_in_error(sandbox, method, waiting):
    purchase_id = sandbox.initialize()
    body = sandbox.complete(purchase_id, method, Step="fail")
    assert [change["to"] for change in body["history"]] == [0, 1, waiting, 3]
    assert body["StatusMessage"].endswith("failed.")


@pytest.mark.parametrize(("method", "waiting"), WAITING)
def test_a_waiting_purchase_completes_only_when_init_is_called_again(sandbox, method, waiting):
    purchase_id = sandbox.initialize()
    assert sandbox.complete(purchase_id, method, Step="wait")["State"] == waiting
    early = sandbox.admin("POST", f"Purchases/{purchase_id}/Resume")
    assert early.status_code == 200 and early.json()["State"] == waiting  # not approved yet
    approved = sandbox.admin("POST", f"Purchases/{purchase_id}/Step", json={"Decision": "approve"})
    assert approved.status_code == 200 and approved.json()["State"] == waiting
    twice = sandbox.admin("POST", f"Purchases/{purchase_id}/Step", json={"Decision": "fail"})
    assert twice.status_code == 409
    resumed = sandbox.admin("POST", f"Purchases/{purchase_id}/Resume").json()
    assert resumed["State"] == 2 and resumed["Completed"]


@pytest.mark.parametrize(("method", "waiting"), [("Invoice", 1), *WAITING])
def test_a_purchase_times_out_in_every_checkout_and_waiting_state(sandbox, method, waiting):
    purchase_id = sandbox.initialize()
    # Shortened only now: the move into the state under test starts the 1 s clock, so a
    # slow machine cannot time the purchase out before it gets there.
    sandbox.settings(purchase_timeout_seconds=1)
    if method == "Invoice":
        from sandbox import purchases

        with sandbox.app.app_context():
            purchases.open_form(purchase_id, None, None, UNREACHABLE)
    else:
        sandbox.complete(purchase_id, method, Step="wait")
    from tests.harness import wait_until

    wait_until(lambda: sandbox.status(purchase_id)["State"] == 5, timeout=10)
    history = [change["to"] for change in sandbox.purchase(purchase_id)["history"]]
    assert history[-2:] == [waiting, 5]
    late = sandbox.admin("POST", f"Purchases/{purchase_id}/Step", json={"Decision": "approve"})
    assert late.status_code == 409


@pytest.mark.parametrize(("method", "waiting"), WAITING)
def test_expire_times_a_purchase_out_at_once(sandbox, method, waiting):
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, method, Step="wait")
    body = sandbox.admin("POST", f"Purchases/{purchase_id}/Expire").json()
    assert body["State"] == 5
    assert [change["to"] for change in body["history"]][-2:] == [waiting, 5]
    assert sandbox.admin("POST", f"Purchases/{purchase_id}/Expire").status_code == 409


def test_complete_rejects_bad_input_without_changing_anything(sandbox):
    purchase_id = sandbox.initialize()
    for body in (
        {"PaymentMethod": "Bitcoin"},
        {"Mail": "x" * 61},
        {"PurchaseCompletedCallbackUrl": 5},
        {"Step": "maybe"},
    ):
        response = sandbox.admin("POST", f"Purchases/{purchase_id}/Complete", json=body)
        assert response.status_code == 400, body
        assert response.json()["errors"]
    missing = sandbox.admin("POST", f"Purchases/{'0' * 32}/Complete", json={})
    assert missing.status_code == 404
    assert sandbox.status(purchase_id)["State"] == 0


def test_merchant_settings_mask_secrets_and_update_partially(sandbox):
    settings = sandbox.settings()
    assert settings["callback_authorization"] == {
        "scheme": "Basic",
        "username": "avarda",
        "password": "***",
    }
    assert UNREACHABLE in settings["callback_allowed_origins"]
    changed = sandbox.settings(callback_copies=2, never_call_done=True, retry_schedule_ms=[0, 5])
    assert (changed["callback_copies"], changed["never_call_done"]) == (2, True)
    assert changed["retry_schedule_ms"] == [0, 5]
    assert changed["max_attempts"] == settings["max_attempts"]
    bearer = sandbox.settings(callback_authorization={"scheme": "Bearer", "token": "jwt-token"})
    assert bearer["callback_authorization"] == {"scheme": "Bearer", "token": "***"}


BAD_SETTINGS = [
    {"no_such_setting": 1},
    {"callback_copies": 0},
    {"max_attempts": True},
    {"callback_enabled": "yes"},
    {"retry_schedule_ms": [0, -1]},
    {"retry_schedule_ms": "0,5"},
    {"callback_allowed_origins": "http://localhost"},
    {"callback_allowed_origins": []},
    {"callback_authorization": {"scheme": "Digest"}},
    {"callback_authorization": {"scheme": "Basic", "username": "u"}},
    {"callback_copies": 2, "done_delay_seconds": -1},
    [1, 2],
]


def test_bad_settings_are_400_and_change_nothing(sandbox):
    before = sandbox.settings()
    for body in BAD_SETTINGS:
        response = sandbox.admin("PUT", f"Merchants/{SITE_CODE}", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]
    assert sandbox.settings() == before


def test_unknown_merchant_is_404(sandbox):
    assert sandbox.admin("GET", "Merchants/nobody").status_code == 404
    assert sandbox.admin("PUT", "Merchants/nobody", json={}).status_code == 404


def test_init_db_keeps_settings_changed_at_run_time(sandbox):
    from sandbox import init_db

    sandbox.settings(callback_copies=3)
    with sandbox.app.app_context():
        init_db()
    assert sandbox.settings()["callback_copies"] == 3


def authorization_after_restart(db_path, **config) -> tuple[str | None, dict]:
    """The demo merchant's callback header and settings after ``init_db`` in a sandbox
    restarted on the same database with ``config`` changed."""
    restarted = create_app(base_config(db_path, **config))
    try:
        with restarted.app_context():
            init_db()
            merchant = merchants.get(SITE_CODE)
            return merchants.authorization_header(merchant), merchants.settings(merchant)
    finally:
        with restarted.app_context():
            db.engine.dispose()


def test_new_callback_credentials_in_the_settings_reach_the_existing_demo_merchant(
    tmp_path, make_sandbox
):
    db_path = tmp_path / "kept.db"
    sandbox = make_sandbox(db_path=db_path)
    sandbox.settings(callback_copies=3)

    header, settings = authorization_after_restart(db_path, CALLBACK_PASSWORD="rotated")
    assert header == "Basic " + base64.b64encode(b"avarda:rotated").decode()
    assert settings["callback_copies"] == 3  # changed at run time and not configured: kept

    sandbox.settings(callback_authorization={"scheme": "Bearer", "token": "run-time"})
    header, _ = authorization_after_restart(db_path, CALLBACK_PASSWORD="rotated")
    assert header == "Bearer run-time"  # the configuration did not change this time


def test_init_db_adds_what_an_older_database_lacks_and_applies_the_configuration(
    tmp_path, make_sandbox
):
    db_path = tmp_path / "older.db"
    make_sandbox(db_path=db_path)
    with closing(sqlite3.connect(db_path)) as connection:
        connection.execute("ALTER TABLE merchants DROP COLUMN configured_digest")

    header, _ = authorization_after_restart(db_path, CALLBACK_PASSWORD="rotated")

    assert header == "Basic " + base64.b64encode(b"avarda:rotated").decode()


UNSENDABLE_AUTHORIZATION = [
    {"scheme": "Bearer", "token": "токен"},  # not Latin-1: http.client cannot send it
    {"scheme": "Bearer", "token": "two words"},
    {"scheme": "Bearer", "token": "tab\there"},
    {"scheme": "Bearer", "token": "=leading-padding"},
    {"scheme": "Bearer", "token": "x" * 2001},
    {"scheme": "Basic", "username": "a:b", "password": "pw"},
    {"scheme": "Basic", "username": "bell\x07", "password": "pw"},
    {"scheme": "Basic", "username": "del\x7f", "password": "pw"},
    {"scheme": "Basic", "username": "surrogate\ud800", "password": "pw"},
    {"scheme": "Basic", "username": "u" * 201, "password": "pw"},  # the column holds 200
    {"scheme": "Basic", "username": "u", "password": "nul\x00"},
    {"scheme": "Basic", "username": "u", "password": "surrogate\udfff"},
]


def test_authorization_that_cannot_be_sent_is_400_and_changes_nothing(sandbox):
    before = sandbox.settings()
    for auth in UNSENDABLE_AUTHORIZATION:
        body = {"callback_authorization": auth}
        response = sandbox.admin("PUT", f"Merchants/{SITE_CODE}", json=body)
        assert response.status_code == 400, auth
        [error] = response.json()["errors"]
        assert error.startswith("callback_authorization.")
        assert not any(v in error for k, v in auth.items() if k != "scheme" and len(v) > 3)
    assert sandbox.settings() == before
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl+/_~-=="
    sandbox.settings(callback_authorization={"scheme": "Bearer", "token": jwt})
    accepted = {"scheme": "Basic", "username": "jörg " + "u" * 195, "password": "p:ä ss"}
    assert sandbox.settings(callback_authorization=accepted)["callback_authorization"] == {
        "scheme": "Basic",
        "username": accepted["username"],
        "password": "***",
    }
