"""The dashboard over HTTP: login, purchases, deliveries with redeliver, merchant settings."""

from __future__ import annotations

import re

import requests

from tests.integration.sandbox.support import ADMIN, SITE_CODE, cart, csrf, login


def test_dashboard_needs_a_login(sandbox):
    with requests.Session() as browser:
        response = browser.get(f"{sandbox.base}/Sandbox/", timeout=5, allow_redirects=False)
        assert response.status_code == 302 and "/Sandbox/login" in response.headers["Location"]
        page = browser.get(f"{sandbox.base}/Sandbox/login", timeout=5)
        wrong = browser.post(
            f"{sandbox.base}/Sandbox/login",
            data={"csrf_token": csrf(page.text), "username": ADMIN[0], "password": "nope"},
            timeout=5,
        )
        assert "Wrong user name or password." in wrong.text
        no_token = browser.post(
            f"{sandbox.base}/Sandbox/login",
            data={"username": ADMIN[0], "password": ADMIN[1]},
            timeout=5,
        )
        assert no_token.status_code == 400
        assert browser.get(f"{sandbox.base}/Sandbox/", timeout=5).url.endswith(
            "/Sandbox/login?next=/CheckOut2/Sandbox/?"
        )


def test_purchases_history_deliveries_and_redeliver(sandbox, receiver):
    receiver.default = 500
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, PurchaseCompletedCallbackUrl=f"{receiver.url}/callback")
    sandbox.deliver_until(purchase_id, "exhausted")
    with login(sandbox) as browser:
        listing = browser.get(f"{sandbox.base}/Sandbox/", timeout=5).text
        assert purchase_id in listing and "exhausted" in listing
        detail = browser.get(f"{sandbox.base}/Sandbox/purchases/{purchase_id}", timeout=5).text
        assert "Invoice accepted" in detail and "UnexpectedStatus" in detail
        [delivery] = sandbox.purchase(purchase_id)["deliveries"]
        redeliver = browser.post(
            f"{sandbox.base}/Sandbox/deliveries/{delivery['id']}/redeliver",
            data={"csrf_token": csrf(detail)},
            timeout=5,
        )
        assert redeliver.status_code == 200 and "queued again" in redeliver.text
        assert sandbox.purchase(purchase_id)["deliveries"][0]["status"] == "pending"
        listing = browser.get(f"{sandbox.base}/Sandbox/deliveries?status=pending", timeout=5)
        assert purchase_id[:12] in listing.text


def test_merchant_settings_form(sandbox):
    with login(sandbox) as browser:
        url = f"{sandbox.base}/Sandbox/merchants/{SITE_CODE}"
        page = browser.get(url, timeout=5).text
        assert 'value="avarda"' in page and "callback-secret" not in page
        form = {
            "csrf_token": csrf(page),
            "callback_enabled": "y",
            "auth_scheme": "Basic",
            "auth_username": "avarda",
            "auth_secret": "",
            "callback_allowed_hosts": "",
            "retry_schedule_ms": "0, 10",
            "retry_every_ms": "10",
            "max_attempts": "3",
            "first_attempt_delay_ms": "0",
            "callback_copies": "2",
            "fail_first_attempts": "0",
            "done_delay_seconds": "5",
            "purchase_timeout_seconds": "600",
        }
        saved = browser.post(url, data=form, timeout=5)
        assert "Settings saved." in saved.text
        settings = sandbox.settings()
        assert (settings["callback_copies"], settings["done_delay_seconds"]) == (2, 5)
        assert settings["never_call_done"] is False and settings["retry_schedule_ms"] == [0, 10]
        assert settings["callback_authorization"]["password"] == "***"
        bad = browser.post(url, data=form | {"retry_schedule_ms": "soon"}, timeout=5)
        assert "Retry schedule" in bad.text
        assert sandbox.settings()["retry_schedule_ms"] == [0, 10]


def test_purchase_page_shows_the_commerce_amounts_and_calls(sandbox):
    purchase_id = sandbox.initialize("250.00")
    sandbox.complete(purchase_id, "Card", DeliveryZip="22100", DeliveryCity="Lund")
    body = {"ExternalId": purchase_id, "OrderReference": "260501-ABCD", "TrackingCode": "JJD01"}
    response = sandbox.api("Commerce/PurchaseOrder", body | {"Items": [{"Amount": "100.00"}]})
    assert response.status_code == 200, response.text
    with login(sandbox) as browser:
        html = browser.get(f"{sandbox.base}/Sandbox/purchases/{purchase_id}", timeout=5).text
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for text in (
        "Authorized SEK 250.00",
        "Delivered SEK 100.00",
        "Remaining SEK 150.00",
        "Deliverable now SEK 150.00",
        "Refundable SEK 100.00",
        "260501-ABCD",
        "JJD01",
        "22100 Lund",
    ):
        assert text in page, text


def test_a_demo_purchase_links_to_the_shops_back_office(make_sandbox):
    other = {"site_code": "other-site", "site_password": "other-secret"}
    sandbox = make_sandbox(SANDBOX_MERCHANTS=[other])
    demo = sandbox.initialize(OrderReference="261201-AB12CD34")
    response = sandbox.api("InitializePayment", cart() | {"OrderReference": "261201-EEEE0000"},
                           auth=("other-site", "other-secret"))  # fmt: skip
    assert response.status_code == 200, response.text
    foreign = response.json()
    with login(sandbox) as browser:
        page = browser.get(f"{sandbox.base}/Sandbox/purchases/{demo}", timeout=5).text
        assert 'href="http://127.0.0.1:5999/admin/orders/261201-AB12CD34"' in page
        assert f'href="http://127.0.0.1:5999/orders/purchase/{demo}"' in page
        page = browser.get(f"{sandbox.base}/Sandbox/purchases/{foreign}", timeout=5).text
        assert "/admin/orders/" not in page  # another merchant's shop is unknown here
        assert "/orders/purchase/" not in page
