"""The demo's knobs on the dashboard: fault presets in one click, and realistic latency on
Avarda's API and on the server-side callback."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime

import sqlalchemy as sa

from sandbox import create_app, init_db, merchants
from sandbox.db import db
from sandbox.models import Delivery, Merchant, Purchase
from tests.integration.sandbox.support import SITE_CODE, base_config, csrf, login


def apply(sandbox, name: str) -> str:
    with login(sandbox) as browser:
        url = f"{sandbox.base}/Sandbox/merchants/{SITE_CODE}"
        page = browser.get(url, timeout=5).text
        response = browser.post(f"{url}/presets/{name}", data={"csrf_token": csrf(page)})
        assert response.status_code == 200, response.text
        return response.text


def test_each_preset_sets_the_faults_of_its_story(sandbox):
    sandbox.settings(callback_copies=3, max_attempts=7)
    page = apply(sandbox, "close-the-browser")
    assert "Settings saved." in page and "Close-the-browser demo" in page
    settings = sandbox.settings()
    assert (settings["done_delay_seconds"], settings["first_attempt_delay_ms"]) == (30, 10_000)
    assert settings["callback_copies"] == 1 and settings["callback_enabled"] is True
    assert settings["max_attempts"] == 7  # not a fault: left alone

    apply(sandbox, "callbacks-off")
    settings = sandbox.settings()
    assert settings["callback_enabled"] is False and settings["first_attempt_delay_ms"] == 0

    apply(sandbox, "flaky-shop")
    settings = sandbox.settings()
    assert settings["fail_first_attempts"] == 3 and settings["never_call_done"] is True
    assert settings["retry_schedule_ms"] == [0, 2_000, 4_000, 8_000]

    apply(sandbox, "no-faults")
    settings = sandbox.settings()
    assert {key: settings[key] for key in merchants.NO_FAULTS} == merchants.NO_FAULTS


def test_an_unknown_preset_or_an_expired_form_changes_nothing(sandbox):
    before = sandbox.settings()
    with login(sandbox) as browser:
        url = f"{sandbox.base}/Sandbox/merchants/{SITE_CODE}"
        token = csrf(browser.get(url, timeout=5).text)
        assert browser.post(f"{url}/presets/chaos", data={"csrf_token": token}).status_code == 404
        assert browser.post(f"{url}/presets/flaky-shop", data={}).status_code == 400
    assert sandbox.settings() == before


def test_realistic_latency_slows_the_api_and_the_callback(sandbox):
    apply(sandbox, "latency-on")
    assert sandbox.settings()["realistic_latency"] is True
    started = time.monotonic()
    purchase_id = sandbox.initialize()
    assert time.monotonic() - started >= merchants.API_LATENCY[0]
    sandbox.complete(purchase_id, "Invoice", PurchaseCompletedCallbackUrl="http://127.0.0.1:9/cb")
    with sandbox.app.app_context():
        [row] = db.session.scalars(sa.select(Delivery).filter_by(purchase_id=purchase_id))
        completed = db.session.get(Purchase, purchase_id).completed_at
        waits = (row.next_attempt_at - completed).total_seconds()
    assert merchants.CALLBACK_LATENCY[0] <= waits <= merchants.CALLBACK_LATENCY[1] + 0.1

    apply(sandbox, "latency-off")
    assert sandbox.settings()["realistic_latency"] is False


def test_an_older_database_gains_the_new_merchant_columns(tmp_path):
    """The sandbox has no migrations: init_db adds the columns later versions brought."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE merchants (id INTEGER PRIMARY KEY, site_code VARCHAR(64) UNIQUE,"
            " callback_enabled BOOLEAN, callback_auth_scheme VARCHAR(10),"
            " callback_auth_username VARCHAR(200), callback_auth_secret TEXT,"
            " retry_schedule_ms JSON, retry_every_ms INTEGER, max_attempts INTEGER,"
            " first_attempt_delay_ms INTEGER, callback_copies INTEGER,"
            " fail_first_attempts INTEGER, done_delay_seconds INTEGER, never_call_done BOOLEAN,"
            " purchase_timeout_seconds INTEGER, created_at DATETIME, updated_at DATETIME)"
        )
        old.execute(
            "INSERT INTO merchants VALUES (1, 'old-shop', 1, 'None', NULL, NULL, '[0]', 1000, 5,"
            " 0, 1, 0, 0, 0, 600, ?, ?)",
            (datetime(2026, 1, 1).isoformat(" "), datetime(2026, 1, 1).isoformat(" ")),
        )
    app = create_app(base_config(path))
    with app.app_context():
        init_db()
        merchant = db.session.scalar(sa.select(Merchant).filter_by(site_code="old-shop"))
        assert merchant.realistic_latency is False
        assert merchant.callback_allowed_origins is None
        db.engine.dispose()
