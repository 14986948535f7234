"""What an outside attack found in the sandbox (issue 10), each re-tried over HTTP.

- a merchant's callback (with its static Authorization header) and the browser's return
  to ``callbackUrl`` go only to the merchant's ``callback_allowed_origins`` (scheme, host
  and port); the checkout form may be framed only by those origins;
- logins are throttled in the database (so the limit holds across gunicorn workers);
- logout and a change of the admin password end every dashboard session;
- the dashboard sends security headers; request bodies are limited;
- the database files are readable by their owner only.
"""

from __future__ import annotations

import hmac
import os
import stat
from urllib.parse import urlsplit

import pytest
import requests

from tests.integration.sandbox.support import ADMIN, SITE_CODE, base_config, csrf, login


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def completed(sandbox, callback_url: str) -> str:
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, PurchaseCompletedCallbackUrl=callback_url)
    return purchase_id


def approve_step(sandbox, purchase_id: str) -> requests.Response:
    """The customer presses Approve on the pretend card issuer's page."""
    page = f"{sandbox.base}/CardIssuer/{purchase_id}"
    with requests.Session() as browser:
        token = csrf(browser.get(page, timeout=5).text)
        data = {"decision": "approve", "csrf_token": token}
        return browser.post(page, data=data, allow_redirects=False, timeout=5)


def notes(sandbox, purchase_id: str) -> list[str]:
    return [change["note"] or "" for change in sandbox.purchase(purchase_id)["history"]]


# --- callback_allowed_origins ----------------------------------------------------------


def test_the_default_allowlist_is_the_origin_of_shop_public_url(make_sandbox):
    sandbox = make_sandbox(False, SHOP_PUBLIC_URL="https://Shop.Example:8443/base/path")
    assert sandbox.settings()["callback_allowed_origins"] == ["https://shop.example:8443"]
    default_port = make_sandbox(False, SHOP_PUBLIC_URL="http://127.0.0.1:80")
    assert default_port.settings()["callback_allowed_origins"] == ["http://127.0.0.1"]


def test_a_callback_to_another_port_of_an_allowed_host_gets_no_request(make_sandbox, receiver):
    """The attack: the customer's own page on another loopback port received the
    merchant's Authorization header. Now only the exact origin is called."""
    port = urlsplit(receiver.url).port
    other_port = f"http://127.0.0.1:{port + 1 if port < 65535 else 1}"
    sandbox = make_sandbox(False, SHOP_PUBLIC_URL=other_port)
    refused = completed(sandbox, f"{receiver.url}/callback")
    sandbox.deliver()
    assert receiver.requests == []
    assert any("not on the merchant's allowed origins" in note for note in notes(sandbox, refused))
    assert sandbox.purchase(refused)["PurchaseCompletedCallbackUrl"] is None
    assert sandbox.purchase(refused)["deliveries"] == []

    sandbox.settings(callback_allowed_origins=[origin(receiver.url)])
    allowed = completed(sandbox, f"{receiver.url}/callback")
    [delivery] = sandbox.deliver_until(allowed, "delivered")
    assert delivery["attempt_count"] == 1
    assert len(receiver.hits()) == 1


def test_an_allowlist_shrunk_after_completion_refuses_at_send_time(sandbox, receiver):
    purchase_id = completed(sandbox, f"{receiver.url}/callback")
    sandbox.settings(callback_allowed_origins=["https://shop.example"])
    assert sandbox.deliver() == 1
    assert receiver.requests == []
    [delivery] = sandbox.purchase(purchase_id)["deliveries"]
    assert delivery["status"] == "refused"
    [attempt] = delivery["attempts"]
    assert (attempt["outcome"], attempt["error"]) == ("refused", "OriginNotAllowed")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/callback",  # same host, another port
        "https://127.0.0.1:{port}/callback",  # another scheme
        "http://localhost:{port}/callback",  # another host name for the same address
        "http://user:pw@127.0.0.1:{port}/callback",  # credentials in the URL
        "http://127.0.0.1:{port}\\@evil.example/callback",  # parser confusion
        "http://evil.example#@127.0.0.1:{port}/callback",
        "http://127.0.0.1:{port}.evil.example/callback",
        "file:///etc/passwd",
        "javascript:alert(1)",
    ],
)
def test_urls_outside_the_allowlist_are_refused_by_the_browser_form(sandbox, receiver, url):
    sandbox.settings(callback_allowed_origins=[origin(receiver.url)])
    purchase_id = sandbox.initialize()
    port = urlsplit(receiver.url).port
    target = url.format(port=port)
    response = requests.get(
        f"{sandbox.base}/Checkout/{purchase_id}",
        params={"origin": origin(receiver.url), "purchaseCompletedCallbackUrl": target},
        timeout=5,
    )
    assert response.status_code == 200
    sandbox.complete(purchase_id)
    sandbox.deliver()
    assert receiver.requests == []
    assert sandbox.purchase(purchase_id)["PurchaseCompletedCallbackUrl"] is None


def test_the_form_keeps_the_merchants_callback_url_when_a_foreign_one_is_sent(sandbox, receiver):
    sandbox.settings(callback_allowed_origins=[origin(receiver.url)])
    purchase_id = sandbox.initialize()
    form = f"{sandbox.base}/Checkout/{purchase_id}"
    good = f"{receiver.url}/callback"
    params = {"origin": origin(receiver.url), "purchaseCompletedCallbackUrl": good}
    assert requests.get(form, params=params, timeout=5).status_code == 200
    params["purchaseCompletedCallbackUrl"] = "http://127.0.0.1:1/steal"
    assert requests.get(form, params=params, timeout=5).status_code == 200
    assert sandbox.purchase(purchase_id)["PurchaseCompletedCallbackUrl"] == good
    sandbox.complete(purchase_id)
    sandbox.deliver_until(purchase_id, "delivered")
    assert [hit["path"] for hit in receiver.requests] == ["/callback"]


def test_the_return_to_callback_url_follows_the_allowlist(sandbox, receiver):
    """The card step's open redirect: the browser goes back only to an allowed origin."""
    sandbox.settings(callback_allowed_origins=[origin(receiver.url)])
    purchase_id = sandbox.initialize()
    form = f"{sandbox.base}/Checkout/{purchase_id}"
    evil = {"origin": origin(receiver.url), "callbackUrl": "https://evil.example/phish"}
    assert requests.get(form, params=evil, timeout=5).status_code == 200
    assert sandbox.purchase(purchase_id)["CallbackUrl"] is None
    sandbox.complete(purchase_id, "Card", Step="wait")
    answer = approve_step(sandbox, purchase_id)
    assert answer.status_code == 200 and "evil.example" not in answer.text

    again = sandbox.initialize()
    shop_page = f"{receiver.url}/checkout"
    params = {"origin": origin(receiver.url), "callbackUrl": shop_page}
    requests.get(f"{sandbox.base}/Checkout/{again}", params=params, timeout=5)
    sandbox.complete(again, "Card", Step="wait")
    sandbox.settings(callback_allowed_origins=["https://shop.example"])
    answer = approve_step(sandbox, again)
    assert answer.status_code == 200 and "Location" not in answer.headers
    sandbox.settings(callback_allowed_origins=[origin(receiver.url)])
    third = sandbox.initialize()
    requests.get(f"{sandbox.base}/Checkout/{third}", params=params, timeout=5)
    sandbox.complete(third, "Card", Step="wait")
    answer = approve_step(sandbox, third)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(shop_page + "?callback=1&purchaseId=")


def test_only_allowed_origins_may_frame_the_form(sandbox):
    sandbox.settings(callback_allowed_origins=["https://shop.example", "http://127.0.0.1:8000"])
    purchase_id = sandbox.initialize()
    form = f"{sandbox.base}/Checkout/{purchase_id}"
    ok = requests.get(form, params={"origin": "https://shop.example"}, timeout=5)
    assert ok.status_code == 200
    assert "frame-ancestors https://shop.example;" in ok.headers["Content-Security-Policy"]
    for foreign in ("https://evil.example", "http://127.0.0.1:8001", "http://shop.example"):
        refused = requests.get(form, params={"origin": foreign}, timeout=5)
        assert refused.status_code == 403, foreign
        assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]
        assert refused.headers["X-Frame-Options"] == "DENY"
        assert purchase_id not in refused.text
    assert sandbox.status(purchase_id)["State"] == 1  # only the allowed opening counted


@pytest.mark.parametrize(
    "value",
    [
        "https://shop.example/path",
        "shop.example",
        "ftp://shop.example",
        "https://user@shop.example",
        "https://shop.example?x=1",
        "https://shop.example#x",
        "https://shop.example:99999",
        "https://",
        "https://shop .example",
        "",
        5,
    ],
)
def test_allowed_origins_must_be_origins(sandbox, value):
    before = sandbox.settings()
    body = {"callback_allowed_origins": [value]}
    response = sandbox.admin("PUT", f"Merchants/{SITE_CODE}", json=body)
    assert response.status_code == 400, value
    assert "callback_allowed_origins" in " ".join(response.json()["errors"])
    assert sandbox.settings() == before


def test_allowed_origins_are_normalised_and_null_restores_the_default(sandbox):
    changed = sandbox.settings(
        callback_allowed_origins=["HTTPS://Shop.Example:443", "http://[::1]:5000/"]
    )
    assert changed["callback_allowed_origins"] == ["https://shop.example", "http://[::1]:5000"]
    restored = sandbox.settings(callback_allowed_origins=None)
    assert restored["callback_allowed_origins"] == ["http://127.0.0.1:5999"]


def test_the_dashboard_edits_the_allowed_origins(make_sandbox):
    sandbox = make_sandbox(allow_receiver=False)
    with login(sandbox) as browser:
        url = f"{sandbox.base}/Sandbox/merchants/{SITE_CODE}"
        page = browser.get(url, timeout=5).text
        assert "http://127.0.0.1:5999" in page
        form = {
            "csrf_token": csrf(page),
            "callback_enabled": "y",
            "auth_scheme": "None",
            "callback_allowed_origins": "https://a.example, http://127.0.0.1:8000",
            "retry_schedule_ms": "0, 20",
            "retry_every_ms": "20",
            "max_attempts": "4",
            "first_attempt_delay_ms": "0",
            "callback_copies": "1",
            "fail_first_attempts": "0",
            "done_delay_seconds": "0",
            "purchase_timeout_seconds": "1800",
        }
        browser.post(url, data=form, timeout=5)
        assert sandbox.settings()["callback_allowed_origins"] == [
            "https://a.example",
            "http://127.0.0.1:8000",
        ]
        form["callback_allowed_origins"] = "https://a.example/path"
        refused = browser.post(url, data=form, timeout=5)
        assert "callback_allowed_origins" in refused.text
        assert len(sandbox.settings()["callback_allowed_origins"]) == 2


# --- logins ----------------------------------------------------------------------------


def dashboard_login(sandbox, browser: requests.Session, password: str) -> requests.Response:
    page = browser.get(f"{sandbox.base}/Sandbox/login", timeout=5)
    return browser.post(
        f"{sandbox.base}/Sandbox/login",
        data={"csrf_token": csrf(page.text), "username": ADMIN[0], "password": password},
        allow_redirects=False,
        timeout=5,
    )


def test_dashboard_logins_are_throttled_across_workers(make_sandbox, tmp_path):
    """Two app instances on one database stand for two gunicorn workers."""
    first = make_sandbox(db_path=tmp_path / "shared.db")
    second = make_sandbox(db_path=tmp_path / "shared.db")
    with requests.Session() as browser:
        for attempt in range(5):
            worker = first if attempt % 2 else second
            wrong = dashboard_login(worker, browser, f"guess-{attempt}")
            assert wrong.status_code == 200 and "Wrong user name or password." in wrong.text
        for worker in (first, second):
            blocked = dashboard_login(worker, browser, ADMIN[1])  # even the right password
            assert blocked.status_code == 429
            assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
            assert "Too many" in blocked.text
            follow = browser.get(f"{worker.base}/Sandbox/", allow_redirects=False, timeout=5)
            assert follow.status_code == 302  # not logged in


def test_admin_api_guesses_are_throttled_per_address(sandbox):
    for attempt in range(5):
        wrong = sandbox.admin("GET", f"Merchants/{SITE_CODE}", auth=("someone", f"g{attempt}"))
        assert wrong.status_code == 401
    blocked = sandbox.admin("GET", f"Merchants/{SITE_CODE}", auth=ADMIN)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.json()["error"] == "Too Many Requests"


def test_a_success_before_the_limit_starts_the_count_again(sandbox):
    for _ in range(4):
        assert sandbox.admin("GET", "Purchases", auth=(ADMIN[0], "wrong")).status_code == 401
    assert sandbox.admin("GET", "Purchases").status_code == 200
    for _ in range(4):
        assert sandbox.admin("GET", "Purchases", auth=(ADMIN[0], "wrong")).status_code == 401
    assert sandbox.admin("GET", "Purchases").status_code == 200


def test_secrets_are_compared_in_constant_time(sandbox, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    sandbox.admin("GET", "Purchases", auth=(ADMIN[0], "wrong"))
    assert len(calls) >= 2  # user name and password
    calls.clear()
    sandbox.api("GetPaymentStatus", {"PurchaseId": "0" * 32}, auth=(SITE_CODE, "wrong"))
    assert calls


# --- sessions --------------------------------------------------------------------------


def test_logout_ends_every_session_of_the_admin(sandbox):
    with login(sandbox) as browser, login(sandbox) as other_device:
        copied = dict(browser.cookies)
        page = browser.get(f"{sandbox.base}/Sandbox/", timeout=5).text
        browser.post(f"{sandbox.base}/Sandbox/logout", data={"csrf_token": csrf(page)}, timeout=5)
        for cookies in (copied, dict(other_device.cookies)):
            replay = requests.get(
                f"{sandbox.base}/Sandbox/", cookies=cookies, allow_redirects=False, timeout=5
            )
            assert replay.status_code == 302 and "/Sandbox/login" in replay.headers["Location"]


def test_a_new_admin_password_ends_every_session(make_sandbox, tmp_path):
    db_path = tmp_path / "shared.db"
    before = make_sandbox(db_path=db_path)
    with login(before) as browser:
        cookies = dict(browser.cookies)
    after = make_sandbox(db_path=db_path, SANDBOX_ADMIN_PASSWORD="a-new-password")
    replay = requests.get(f"{after.base}/Sandbox/", cookies=cookies, allow_redirects=False)
    assert replay.status_code == 302
    still = requests.get(f"{before.base}/Sandbox/", cookies=cookies, allow_redirects=False)
    assert still.status_code == 200  # the same password: the session holds


# --- headers, sizes, files -------------------------------------------------------------


def test_dashboard_pages_send_security_headers(sandbox):
    with login(sandbox) as browser:
        for path in ("", "merchants", f"merchants/{SITE_CODE}", "deliveries", "login"):
            response = browser.get(f"{sandbox.base}/Sandbox/{path}", timeout=5)
            headers = response.headers
            csp = headers["Content-Security-Policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert headers["X-Frame-Options"] == "DENY"
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "same-origin"
            assert "no-store" in headers["Cache-Control"]
    api = sandbox.admin("GET", "Purchases")
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in api.headers["Cache-Control"]


def test_request_bodies_are_limited(sandbox):
    big = b"x" * (2 * 1024 * 1024)
    for url in (
        f"{sandbox.base}/Sandbox/login",
        f"{sandbox.base}/Sandbox/Api/Merchants/{SITE_CODE}",
        f"{sandbox.base}/CheckOut2Api/InitializePayment",
    ):
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            response = requests.post(
                url, data=big, headers={"Content-Type": content_type}, timeout=10
            )
            assert response.status_code == 413, url


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_database_and_its_wal_files_are_private(make_sandbox, tmp_path):
    db_path = tmp_path / "private.db"
    sandbox = make_sandbox(db_path=db_path)
    completed(sandbox, "http://127.0.0.1:5999/callback")
    for suffix in ("", "-wal", "-shm"):
        path = f"{db_path}{suffix}"
        assert os.path.exists(path) and mode(path) == 0o600, suffix


def test_an_existing_readable_database_is_made_private(tmp_path):
    from sandbox import create_app

    db_path = tmp_path / "old.db"
    db_path.touch(mode=0o644)
    os.chmod(db_path, 0o644)
    create_app(base_config(db_path))
    assert mode(db_path) == 0o600
