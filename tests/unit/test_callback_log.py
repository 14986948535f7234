"""The notification log: every inbound server callback is recorded, rejected ones
included, without the Authorization header's value; ``/admin/notifications`` lists and
filters them."""

from __future__ import annotations

import html
import logging
import re
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from common.db import utcnow
from shop.extensions import db
from shop.models import AuthResult, CallbackLog
from shop.orders.callback_log import (
    REFUSED_PER_MINUTE,
    CallbackRecord,
    RefusalBudget,
    prune_callbacks,
    record_callback,
)
from tests.harness import JWT_SECRET
from tests.unit.callback_shop import GOOD, UNKNOWN, Shop, basic, make_shop


@pytest.fixture
def shop(tmp_path) -> Iterator[Shop]:
    s = make_shop(tmp_path, CALLBACK_JWT_SECRET=JWT_SECRET)
    yield s
    with s.app.app_context():
        db.engine.dispose()


def logged(shop: Shop) -> list[dict]:
    with shop.app.app_context():
        rows = db.session.scalars(sa.select(CallbackLog).order_by(CallbackLog.id)).all()
        result = [
            {c.name: getattr(row, c.name) for c in CallbackLog.__table__.columns} for row in rows
        ]
        db.session.remove()
    return result


def brief(row: dict) -> tuple:
    return (row["auth"], row["auth_scheme"], row["purchase_id"], row["status"], row["outcome"])


def test_every_callback_is_logged_with_what_support_needs(shop):
    purchase_id = shop.order()
    secret = "wrong-password-never-stored"
    shop.post({"purchaseId": purchase_id}, auth=None)
    shop.post({"purchaseId": purchase_id}, auth=basic("avarda", secret))
    shop.post({"purchaseId": purchase_id}, auth="Bearer not.a.jwt")
    shop.post(data=b"{}", headers={"Content-Type": "text/plain"})
    shop.post({"purchaseId": "nope"})
    shop.post({"purchaseId": UNKNOWN})
    shop.post({"purchaseId": purchase_id})
    shop.post({"purchaseId": purchase_id})

    rows = logged(shop)
    assert [brief(r) for r in rows] == [
        ("missing", None, None, 401, "unauthorized"),
        ("refused", "Basic", None, 401, "unauthorized"),
        ("refused", "Bearer", None, 401, "unauthorized"),
        ("ok", "Basic", None, 415, "unsupported_media_type"),
        ("ok", "Basic", None, 400, "bad_request"),
        ("ok", "Basic", UNKNOWN, 404, "unknown_purchase"),
        ("ok", "Basic", purchase_id, 200, "confirmed_now"),
        ("ok", "Basic", purchase_id, 200, "already_confirmed"),
    ]
    for row in rows:
        assert row["remote_addr"] == "127.0.0.1"
        assert row["received_at"] is not None and 0 <= row["latency_ms"] < 10_000
        stored = " ".join(str(v) for v in row.values())
        assert secret not in stored and GOOD.split()[1] not in stored


def test_an_avarda_outage_is_logged_as_retry(shop):
    from tests.unit.fakes import unavailable

    purchase_id = shop.order()
    shop.fake.status_error = unavailable()
    assert shop.post({"purchaseId": purchase_id}).status_code == 503
    assert brief(logged(shop)[-1]) == ("ok", "Basic", purchase_id, 503, "avarda_unavailable")


def test_a_failing_log_never_changes_the_answer(shop, monkeypatch, caplog):
    view = sys.modules["shop.views.callback"]  # shop.views.callback is also the blueprint

    def broken(*_args, **_kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(view, "record_callback", broken)
    purchase_id = shop.order()
    response = shop.post({"purchaseId": purchase_id})
    assert response.status_code == 200 and response.json["outcome"] == "confirmed_now"
    assert logged(shop) == []
    assert "could not record it in the notification log" in caplog.text


def page_text(response) -> str:
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(body)).strip()


def test_the_admin_lists_and_filters_the_log(shop):
    purchase_id = shop.order()
    shop.post({"purchaseId": purchase_id}, auth=None)
    shop.post({"purchaseId": UNKNOWN})
    shop.post({"purchaseId": purchase_id})
    shop.app.config["WTF_CSRF_ENABLED"] = False
    admin = shop.app.test_client()
    assert admin.get("/admin/notifications").status_code == 302  # sign-in first
    admin.post("/admin/login", data={"email": "admin@example.com", "password": "admin-password"})

    everything = page_text(admin.get("/admin/notifications"))
    assert "3 callbacks" in everything
    assert "kept 30 days" in everything and f"at most {REFUSED_PER_MINUTE} a minute" in everything
    assert "no header" in everything and "unknown_purchase" in everything
    assert "Rejected (4xx) (2)" in everything and "Accepted (2xx) (1)" in everything

    rejected = page_text(admin.get("/admin/notifications?result=rejected"))
    assert "2 callbacks match these filters" in rejected and "confirmed_now 200" not in rejected
    one = page_text(admin.get("/admin/notifications?outcome=confirmed_now"))
    assert "1 callback matches these filters" in one and purchase_id in one
    by_id = page_text(admin.get(f"/admin/notifications?purchase_id={UNKNOWN.upper()}"))
    assert "1 callback matches" in by_id and UNKNOWN in by_id
    assert admin.get("/admin/notifications?result=maybe").status_code == 400
    assert admin.get("/admin/notifications?page=0").status_code == 400
    assert "No server callback matches" in page_text(
        admin.get("/admin/notifications?outcome=nothing-like-this")
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refused_requests_beyond_the_budget_are_counted_not_stored(shop, caplog):
    clock = Clock()
    shop.app.extensions["callback_refusal_budget"] = RefusalBudget(per_minute=3, clock=clock)
    purchase_id = shop.order()
    answers = [shop.post({"purchaseId": purchase_id}, auth=None).status_code for _ in range(5)]
    assert answers == [401] * 5
    assert shop.post({"purchaseId": purchase_id}).status_code == 200  # never limited
    assert [r["status"] for r in logged(shop)] == [401, 401, 401, 200]

    clock.now += 60
    with caplog.at_level(logging.WARNING, logger="shop.orders.callback_log"):
        assert shop.post({"purchaseId": purchase_id}, auth="Basic eDp5").status_code == 401
    assert [r["status"] for r in logged(shop)] == [401, 401, 401, 200, 401]
    assert "2 refused callbacks in a minute were not recorded" in caplog.text


def test_each_app_has_its_own_budget(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for shop in (make_shop(tmp_path / "a"), make_shop(tmp_path / "b")):
        for _ in range(REFUSED_PER_MINUTE + 2):
            shop.post({"purchaseId": UNKNOWN}, auth=None)
        assert len(logged(shop)) == REFUSED_PER_MINUTE
        with shop.app.app_context():
            db.engine.dispose()


def test_pruning_deletes_only_rows_older_than_the_cut_in_batches(shop):
    now = utcnow()
    with shop.app.app_context():
        for age_days in (40, 35, 31, 29, 1, 0):
            record_callback(
                db.session(),
                CallbackRecord(
                    received_at=now - timedelta(days=age_days),
                    remote_addr="127.0.0.1",
                    auth=AuthResult.OK,
                    auth_scheme="Basic",
                    purchase_id=None,
                    status=200,
                    outcome=f"age-{age_days}",
                    latency_ms=1,
                ),
            )
        deleted = prune_callbacks(db.session(), now - timedelta(days=30), batch=2)
        db.session.remove()
    assert deleted == 3
    assert [r["outcome"] for r in logged(shop)] == ["age-29", "age-1", "age-0"]


def test_the_sweeper_prunes_the_log(tmp_path):
    shop = make_shop(tmp_path, CALLBACK_LOG_DAYS=2)
    shop.post({"purchaseId": UNKNOWN})
    with shop.app.app_context():
        db.session.execute(sa.update(CallbackLog).values(received_at=utcnow() - timedelta(days=3)))
        db.session.commit()
    shop.post({"purchaseId": UNKNOWN}, auth=None)
    result = shop.app.test_cli_runner().invoke(args=["reconcile"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 notification log rows older than 2 days" in result.output
    assert [r["status"] for r in logged(shop)] == [401]
    with shop.app.app_context():
        db.engine.dispose()


def test_behind_a_trusted_proxy_the_log_shows_the_caller(tmp_path):
    shop = make_shop(tmp_path, TRUSTED_PROXIES=1)
    shop.post({"purchaseId": UNKNOWN}, headers={"X-Forwarded-For": "203.0.113.9"})
    assert logged(shop)[-1]["remote_addr"] == "203.0.113.9"
    with shop.app.app_context():
        db.engine.dispose()


def test_without_trusted_proxies_the_log_ignores_x_forwarded_for(shop):
    shop.post({"purchaseId": UNKNOWN}, headers={"X-Forwarded-For": "203.0.113.9"})
    assert logged(shop)[-1]["remote_addr"] == "127.0.0.1"
