"""The checkout page, its re-entry, the done page and the order page, against a real
sandbox over HTTP.

The customer is the Flask test client on the stack's in-process shop (same database and
settings as the shop under gunicorn); the shop calls the sandbox over HTTP, and the
sandbox's callback reaches the shop's real socket.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from shop.extensions import db
from shop.models import Order, Product
from tests.harness import (
    CartActions,
    Stack,
    close_app,
    flashes,
    free_port,
    make_shop_app,
    sqlite_shop_database,
    text,
    wait_until,
)


@pytest.fixture
def app(stack: Stack) -> Flask:
    return stack.shop_app


def init_options(page: str) -> dict[str, str]:
    """The literal options of the page's one AvardaCheckOutClient.init call."""
    scripts = re.findall(r"<script nonce=\"[^\"]+\">(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 1, "exactly one inline script"
    (script,) = scripts
    assert script.count("AvardaCheckOutClient.init(") == 1
    options = {}
    for key in ("divId", "purchaseId", "callbackUrl", "purchaseCompletedCallbackUrl"):
        match = re.search(rf"\b{key}: (\"[^\"]*\")", script)
        assert match, key
        options[key] = json.loads(match.group(1))
    done = re.search(r"done: \(id\) => \{\s*(.*?)\s*\},", script, flags=re.S)
    assert done, "a done callback"
    options["done"] = re.sub(r"\s+", " ", done.group(1))
    return options


def order_token(page: str) -> str:
    match = re.search(r'data-order-token="([^"]+)"', page)
    assert match, "the page carries data-order-token"
    return match.group(1)


def orders_count(stack: Stack) -> int:
    return stack.query(lambda: db.session.scalar(sa.select(sa.func.count(Order.id))))


def go_to_checkout(client: FlaskClient, *items: tuple[str, int]) -> tuple[str, str, str]:
    """Fill the cart and open the checkout; returns (page, order token, purchase id)."""
    cart = CartActions(client)
    for sku, quantity in items or (("MUG-01", 2),):
        cart.add(sku, quantity)
    response = client.get("/checkout")
    assert response.status_code == 200, flashes(client.get("/cart"))
    page = response.get_data(as_text=True)
    return page, order_token(page), init_options(page)["purchaseId"]


def test_checkout_page_renders_init_with_the_right_options(stack, client, cart):
    cart.add("MUG-01", 2)
    response = client.get("/checkout")
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    options = init_options(page)
    token = order_token(page)
    assert re.fullmatch(r"[0-9a-f]{32}", options["purchaseId"])
    assert f'id="{options["divId"]}"' in page
    assert options["callbackUrl"] == stack.shop_url + "/checkout"
    assert options["purchaseCompletedCallbackUrl"] == stack.shop_url + "/avarda/purchase-completed"
    assert options["done"] == (
        'document.dispatchEvent(new CustomEvent("avarda:done")); '
        'location.href = "/checkout/done" + "?purchaseId=" + encodeURIComponent(id);'
    )
    assert f'<script src="{stack.avarda_url}/Scripts/CheckOutClient.js"' in page
    assert cart.order_token() == token

    # The inline script's nonce is the one the CSP allows, and the CSP lets Avarda in.
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r'<script nonce="([^"]+)">', page).group(1)
    assert f"'nonce-{nonce}'" in csp
    for directive in ("script-src", "frame-src"):
        policy = re.search(rf"{directive} ([^;]+)", csp).group(1)
        assert stack.sandbox_url in policy.split(), directive
    assert response.headers["Cache-Control"] == "no-store"

    # Avarda really has this purchase, for the order's total.
    purchase = stack.purchase(options["purchaseId"])
    assert float(purchase["Price"]) == 298.00
    assert purchase["State"] in (0, 1)
    status = client.get(f"/orders/{token}/status").get_json()
    assert status["purchase_id"] == options["purchaseId"]
    assert status["state"] == "pending" and status["confirmed_by"] is None

    words = text(response)
    assert "2 × Enamel camp mug" in words and "298,00 kr" in words


def test_the_same_cart_reuses_the_order_and_its_purchase(stack, client):
    _, token, purchase_id = go_to_checkout(client)
    page = client.get("/checkout").get_data(as_text=True)
    assert order_token(page) == token
    assert init_options(page)["purchaseId"] == purchase_id
    assert orders_count(stack) == 1


def test_a_changed_cart_updates_the_same_purchase(stack, client, cart):
    _, token, purchase_id = go_to_checkout(client)
    cart.add("TEE-01", 1)
    page = client.get("/checkout").get_data(as_text=True)
    assert init_options(page)["purchaseId"] == purchase_id
    assert "547,00 kr" in text_of(page)
    assert float(stack.purchase(purchase_id)["Price"]) == 547.00


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("same_browser", [True, False])
def test_reentry_after_an_external_step_inits_the_same_purchase(stack, same_browser, app, client):
    _, token, purchase_id = go_to_checkout(client)
    client = client if same_browser else app.test_client()
    response = client.get(f"/checkout?purchaseId={purchase_id}&callback=1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert init_options(page)["purchaseId"] == purchase_id
    assert order_token(page) == token
    assert orders_count(stack) == 1


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("callback=1&purchaseId=" + "0" * 32, 404),
        ("callback=1&purchaseId=nothex", 400),
        ("callback=1", 400),
        ("callback=1&purchaseId=" + "A" * 32, 400),
    ],
)
def test_reentry_with_a_bad_purchase_starts_nothing(stack, query, status, client, cart):
    cart.add("MUG-01", 1)
    response = client.get(f"/checkout?{query}", headers={"Accept": "text/html"})
    assert response.status_code == status
    assert orders_count(stack) == 0


def test_reentry_for_a_finished_order_goes_to_the_done_page(stack, app, client):
    _, token, purchase_id = go_to_checkout(client)
    stack.complete(purchase_id, "Card", callback=False)
    # Not confirmed by the shop yet: init again, Avarda's script then calls done.
    response = client.get(f"/checkout?purchaseId={purchase_id}&callback=1")
    assert init_options(response.get_data(as_text=True))["purchaseId"] == purchase_id
    client.get(f"/checkout/done?purchaseId={purchase_id}")
    response = app.test_client().get(f"/checkout?purchaseId={purchase_id}&callback=1")
    assert response.status_code == 303
    assert response.headers.get("Location") == f"/checkout/done?purchaseId={purchase_id}"


def test_done_page_is_honest_while_pending_and_confirms_once_paid(stack, client, cart):
    _, token, purchase_id = go_to_checkout(client)

    pending = client.get(f"/checkout/done?purchaseId={purchase_id}")
    assert pending.status_code == 200
    words = text(pending)
    assert "Confirming your payment…" in words
    assert "Payment confirmed" not in pending.get_data(as_text=True)
    assert order_token(pending.get_data(as_text=True)) == token
    assert "/static/js/order-status.js" in pending.get_data(as_text=True)
    assert pending.headers["Cache-Control"] == "no-store"
    status = client.get(f"/orders/{token}/status").get_json()
    assert status["state"] == "pending" and status["confirmed_by"] is None
    assert cart.lines() == [["MUG-01", 2]]

    stack.complete(purchase_id, "Invoice", callback=False)
    paid = client.get(f"/checkout/done?purchaseId={purchase_id}")
    words = text(paid)
    assert "Payment confirmed" in words
    assert "Confirming your payment" not in words
    assert "order-status.js" not in paid.get_data(as_text=True)
    assert cart.lines() == [] and cart.order_token() is None

    status = client.get(f"/orders/{token}/status").get_json()
    assert status["state"] == "paid"
    assert status["confirmed_by"] == "browser"
    assert status["confirmed_at"] and status["purchase_id"] == purchase_id

    page = text(client.get(f"/orders/{token}"))
    assert "Paid. Confirmed when your browser returned to the shop at" in page
    assert "2 × Enamel camp mug" not in page and "Enamel camp mug" in page
    assert "298,00 kr" in page


def test_done_page_reports_a_failed_payment_and_keeps_the_cart(stack, client, cart):
    _, token, purchase_id = go_to_checkout(client)
    stack.complete(purchase_id, "Fail", callback=False)
    response = client.get(f"/checkout/done?purchaseId={purchase_id}")
    words = text(response)
    assert "Your payment did not go through" in words
    assert "Nothing has been charged" in words
    assert "Your cart still holds your items" in words
    assert "Payment confirmed" not in words
    page = response.get_data(as_text=True)
    assert '<a class="button button-primary" href="/checkout">Try again</a>' in page
    assert '<a class="button" href="/cart">Back to the cart</a>' in page
    assert cart.lines() == [["MUG-01", 2]]
    assert client.get(f"/orders/{token}/status").get_json()["state"] == "failed"

    # Trying again starts a new order with a new purchase.
    page = client.get("/checkout").get_data(as_text=True)
    assert order_token(page) != token
    assert init_options(page)["purchaseId"] != purchase_id


@pytest.mark.parametrize(
    ("query", "status"),
    [("purchaseId=" + "0" * 32, 404), ("purchaseId=x", 400), ("", 400), ("purchaseId=", 400)],
)
def test_done_page_never_trusts_the_query_string(stack, query, status, client):
    response = client.get(f"/checkout/done?{query}", headers={"Accept": "text/html"})
    assert response.status_code == status
    assert "Payment confirmed" not in response.get_data(as_text=True)


def test_callback_alone_pays_and_the_order_page_says_so(stack, app, client, cart):
    _, token, purchase_id = go_to_checkout(client)
    stack.complete(purchase_id, "Invoice")  # subscribing to the callback

    def paid() -> bool:
        stack.run_delivery()
        return client.get(f"/orders/{token}/status").get_json()["state"] == "paid"

    wait_until(paid, timeout=10, message="the callback pays the order")
    status = client.get(f"/orders/{token}/status").get_json()
    assert status["confirmed_by"] == "callback"

    later = app.test_client()  # a new browser, days later
    words = text(later.get(f"/orders/{token}"))
    assert re.search(
        r"Paid\. Confirmed by Avarda's server-side callback at \d\d:\d\d:\d\d\.\d{3} UTC ?; "
        r"your browser did not return to the shop\.",
        words,
    ), words
    assert "Confirmed by Avarda's server-side callback" in words

    # The original browser comes back to the shop: its cart knows the order is paid.
    response = cart.page()
    assert any("is paid" in f for f in flashes(response))
    assert cart.lines() == []


def test_order_page_and_status_for_unknown_tokens_are_404(stack, client):
    assert client.get("/orders/nope", headers={"Accept": "text/html"}).status_code == 404
    response = client.get("/orders/nope/status")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404
    assert client.get("/orders/" + "x" * 300).status_code == 404


def test_an_orders_purchase_id_leads_to_its_page_without_confirming(stack, client):
    _, token, purchase_id = go_to_checkout(client)
    response = client.get(f"/orders/purchase/{purchase_id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/orders/{token}"
    assert client.get(f"/orders/{token}/status").get_json()["state"] == "pending"
    assert "Your browser returning" not in text(client.get(f"/orders/{token}"))
    for unknown in ("0" * 32, "x" * 32, purchase_id.upper() + "0"):
        assert client.get(f"/orders/purchase/{unknown}").status_code == 404


def test_panel_renders_the_outcome_and_empties_the_cart_of_a_paid_order(stack, client, cart):
    _, token, purchase_id = go_to_checkout(client)
    pending = client.get(f"/orders/{token}/panel?level=2").get_data(as_text=True)
    assert '<h2 class="status-title" tabindex="-1">Confirming your payment…</h2>' in pending
    assert cart.lines() == [["MUG-01", 2]]
    stack.complete(purchase_id, "Invoice")  # the callback pays it; this browser never returns

    def paid() -> bool:
        stack.run_delivery()
        return client.get(f"/orders/{token}/status").get_json()["state"] == "paid"

    wait_until(paid, timeout=10, message="the callback pays the order")
    assert cart.lines() == [["MUG-01", 2]]
    panel = client.get(f"/orders/{token}/panel").get_data(as_text=True)
    assert '<h1 class="status-title" tabindex="-1">Payment confirmed</h1>' in panel
    assert 'data-cart-items="0"' in panel and cart.lines() == []
    assert "<html" not in panel  # a fragment
    assert client.get("/orders/nope/panel").status_code == 404


def test_pending_order_page_polls_and_says_it_is_waiting(stack, client):
    _, token, _ = go_to_checkout(client)
    response = client.get(f"/orders/{token}")
    assert "Waiting for payment." in text(response)
    assert "/static/js/order-status.js" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_out_of_stock_at_checkout_sends_the_customer_back_to_the_cart(stack, app, client, cart):
    cart.add("SOCKS-01", 5)

    def sell_socks() -> None:
        db.session.execute(sa.update(Product).where(Product.sku == "SOCKS-01").values(stock=2))
        db.session.commit()

    stack.query(sell_socks)
    cart_page = text(cart.page())
    assert "Only 2 in stock" in cart_page
    response = client.get("/checkout", follow_redirects=True)
    assert response.request.path == "/cart"
    assert "Not enough in stock: SOCKS-01." in flashes(response)
    assert orders_count(stack) == 0


def test_avarda_unavailable_sends_the_customer_back_to_the_cart(tmp_path):
    app = make_shop_app(
        sqlite_shop_database(tmp_path),
        AVARDA_BASE_URL=f"http://127.0.0.1:{free_port()}/CheckOut2",
        WTF_CSRF_ENABLED=False,
    )
    try:
        client = app.test_client()
        client.post("/cart/add", data={"sku": "MUG-01", "quantity": "1"})
        response = client.get("/checkout", follow_redirects=True)
        assert response.request.path == "/cart"
        assert "Payment is unavailable right now. Please try again." in flashes(response)
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Order.id))) == 0
            db.session.remove()
    finally:
        close_app(app)


def test_done_page_for_an_order_held_for_stock_claims_no_amount_difference(stack, app, client):
    _, token, purchase_id = go_to_checkout(client, ("SOCKS-01", 3))

    def sell_socks() -> None:
        db.session.execute(sa.update(Product).where(Product.sku == "SOCKS-01").values(stock=1))
        db.session.commit()

    stack.query(sell_socks)
    stack.complete(purchase_id, "Invoice", callback=False)

    words = text(client.get(f"/checkout/done?purchaseId={purchase_id}"))

    hold_reason = stack.query(
        lambda: db.session.scalar(sa.select(Order.hold_reason).where(Order.token == token))
    )
    assert "not enough stock" in hold_reason  # held for stock, not for the amount
    assert "Payment received, order on hold" in words
    assert "our staff are reviewing the order" in words
    assert "amount" not in words.lower() and "differ" not in words.lower()
    assert "Payment confirmed" not in words


def test_the_demo_home_page_tells_its_stories(stack, app, client, tmp_path):
    page = client.get("/").get_data(as_text=True)
    sandbox = app.config["AVARDA_BASE_URL"] + "/Sandbox"
    assert '<h2 id="try-it-heading">Try it</h2>' in page
    assert f'href="{sandbox}/"' in page and f'href="{sandbox}/deliveries"' in page
    assert f'href="{sandbox}/merchants/{app.config["AVARDA_SITE_CODE"]}#presets"' in page
    assert 'href="/admin/"' in page or 'href="/admin/orders"' in page
    assert "Your last order" not in page
    for story in ("Invoice", "Card with 3-D Secure", "Failed payment", "Close the tab",
                  "Callbacks off", "Shop down", "Duplicate callbacks"):  # fmt: skip
        assert f"<h3>{story}</h3>" in page, story

    _, token, _ = go_to_checkout(client)
    assert f'href="/orders/{token}">Your last order' in client.get("/").get_data(as_text=True)

    production = make_shop_app(sqlite_shop_database(tmp_path, "prod.db"), SHOP_ENV="production")
    try:
        page = production.test_client().get("/").get_data(as_text=True)
        assert "Try it" not in page and "/Sandbox" not in page
    finally:
        close_app(production)
