"""The notification log: every inbound server callback is recorded, rejected ones
included, without the Authorization header's value; ``/admin/notifications`` lists and
filters them."""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import CallbackLog
from tests.harness import JWT_SECRET
from tests.unit.test_callback import GOOD, UNKNOWN, Shop, basic, make_shop


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
