"""The checkout page, its re-entry, the done page and the order page, against a real
sandbox over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Order, Product
from tests.integration.storefront_helpers import (
    LiveStack,
    dispose,
    flashes,
    make_shop,
    start_stack,
    stop_stack,
    text,
)
from tests.support import free_port, wait_until


@pytest.fixture
def stack(live_server, tmp_path) -> Iterator[LiveStack]:
    stack = start_stack(live_server, tmp_path)
    yield stack
    stop_stack(stack)


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
    done = re.search(r"done: \(id\) => \{ (.*?) \},", script)
    assert done, "a done callback"
    options["done"] = done.group(1)
    return options


def order_token(page: str) -> str:
    match = re.search(r'data-order-token="([^"]+)"', page)
    assert match, "the page carries data-order-token"
    return match.group(1)


def orders_count(stack: LiveStack) -> int:
    return stack.shop.query(lambda: db.session.scalar(sa.select(sa.func.count(Order.id))))


def go_to_checkout(stack: LiveStack, *items: tuple[str, int]) -> tuple[str, str, str]:
    """Fill the cart and open the checkout; returns (page, order token, purchase id)."""
    for sku, quantity in items or (("MUG-01", 2),):
        stack.shop.cart.add(sku, quantity)
    response = stack.shop.client.get("/checkout")
    assert response.status_code == 200, flashes(stack.shop.client.get("/cart"))
    page = response.get_data(as_text=True)
    return page, order_token(page), init_options(page)["purchaseId"]


def test_checkout_page_renders_init_with_the_right_options(stack):
    stack.shop.cart.add("MUG-01", 2)
    response = stack.shop.client.get("/checkout")
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    options = init_options(page)
    token = order_token(page)
    assert re.fullmatch(r"[0-9a-f]{32}", options["purchaseId"])
    assert f'id="{options["divId"]}"' in page
    assert options["callbackUrl"] == stack.shop_url + "/checkout"
    assert options["purchaseCompletedCallbackUrl"] == stack.shop_url + "/avarda/purchase-completed"
    assert options["done"] == (
        'location.href = "/checkout/done" + "?purchaseId=" + encodeURIComponent(id);'
    )
    assert f'<script src="{stack.avarda_base}/Scripts/CheckOutClient.js"' in page
    assert stack.shop.cart.order_token() == token

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
    status = stack.shop.client.get(f"/orders/{token}/status").get_json()
    assert status["purchase_id"] == options["purchaseId"]
    assert status["state"] == "pending" and status["confirmed_by"] is None

    words = text(response)
    assert "2 × Enamel camp mug" in words and "298,00 kr" in words


def test_the_same_cart_reuses_the_order_and_its_purchase(stack):
    _, token, purchase_id = go_to_checkout(stack)
    page = stack.shop.client.get("/checkout").get_data(as_text=True)
    assert order_token(page) == token
    assert init_options(page)["purchaseId"] == purchase_id
    assert orders_count(stack) == 1


def test_a_changed_cart_updates_the_same_purchase(stack):
    _, token, purchase_id = go_to_checkout(stack)
    stack.shop.cart.add("TEE-01", 1)
    page = stack.shop.client.get("/checkout").get_data(as_text=True)
    assert init_options(page)["purchaseId"] == purchase_id
    assert "547,00 kr" in text_of(page)
    assert float(stack.purchase(purchase_id)["Price"]) == 547.00


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("same_browser", [True, False])
def test_reentry_after_an_external_step_inits_the_same_purchase(stack, same_browser):
    _, token, purchase_id = go_to_checkout(stack)
    client = stack.shop.client if same_browser else stack.shop.fresh_client()
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
def test_reentry_with_a_bad_purchase_starts_nothing(stack, query, status):
    stack.shop.cart.add("MUG-01", 1)
    response = stack.shop.client.get(f"/checkout?{query}", headers={"Accept": "text/html"})
    assert response.status_code == status
    assert orders_count(stack) == 0


def test_reentry_for_a_finished_order_goes_to_the_done_page(stack):
    _, token, purchase_id = go_to_checkout(stack)
    stack.complete(purchase_id, "Card")
    # Not confirmed by the shop yet: init again, Avarda's script then calls done.
    response = stack.shop.client.get(f"/checkout?purchaseId={purchase_id}&callback=1")
    assert init_options(response.get_data(as_text=True))["purchaseId"] == purchase_id
    stack.shop.client.get(f"/checkout/done?purchaseId={purchase_id}")
    response = stack.shop.fresh_client().get(f"/checkout?purchaseId={purchase_id}&callback=1")
    assert response.status_code == 303
    assert response.headers.get("Location") == f"/checkout/done?purchaseId={purchase_id}"


def test_done_page_is_honest_while_pending_and_confirms_once_paid(stack):
    _, token, purchase_id = go_to_checkout(stack)

    pending = stack.shop.client.get(f"/checkout/done?purchaseId={purchase_id}")
    assert pending.status_code == 200
    words = text(pending)
    assert "Confirming your payment…" in words
    assert "Payment confirmed" not in pending.get_data(as_text=True)
    assert order_token(pending.get_data(as_text=True)) == token
    assert "/static/js/order-status.js" in pending.get_data(as_text=True)
    assert pending.headers["Cache-Control"] == "no-store"
    status = stack.shop.client.get(f"/orders/{token}/status").get_json()
    assert status["state"] == "pending" and status["confirmed_by"] is None
    assert stack.shop.cart.lines() == [["MUG-01", 2]]

    stack.complete(purchase_id, "Invoice")
    paid = stack.shop.client.get(f"/checkout/done?purchaseId={purchase_id}")
    words = text(paid)
    assert "Payment confirmed" in words
    assert "Confirming your payment" not in words
    assert "order-status.js" not in paid.get_data(as_text=True)
    assert stack.shop.cart.lines() == [] and stack.shop.cart.order_token() is None

    status = stack.shop.client.get(f"/orders/{token}/status").get_json()
    assert status["state"] == "paid"
    assert status["confirmed_by"] == "browser"
    assert status["confirmed_at"] and status["purchase_id"] == purchase_id

    page = text(stack.shop.client.get(f"/orders/{token}"))
    assert "Paid. Confirmed when your browser returned to the shop at" in page
    assert "2 × Enamel camp mug" not in page and "Enamel camp mug" in page
    assert "298,00 kr" in page


def test_done_page_reports_a_failed_payment_and_keeps_the_cart(stack):
    _, token, purchase_id = go_to_checkout(stack)
    stack.complete(purchase_id, "Fail")
    response = stack.shop.client.get(f"/checkout/done?purchaseId={purchase_id}")
    words = text(response)
    assert "Payment not completed" in words
    assert "Nothing has been charged" in words
    assert "Payment confirmed" not in words
    assert stack.shop.cart.lines() == [["MUG-01", 2]]
    assert stack.shop.client.get(f"/orders/{token}/status").get_json()["state"] == "failed"

    # Trying again starts a new order with a new purchase.
    page = stack.shop.client.get("/checkout").get_data(as_text=True)
    assert order_token(page) != token
    assert init_options(page)["purchaseId"] != purchase_id


@pytest.mark.parametrize(
    ("query", "status"),
    [("purchaseId=" + "0" * 32, 404), ("purchaseId=x", 400), ("", 400), ("purchaseId=", 400)],
)
def test_done_page_never_trusts_the_query_string(stack, query, status):
    response = stack.shop.client.get(f"/checkout/done?{query}", headers={"Accept": "text/html"})
    assert response.status_code == status
    assert "Payment confirmed" not in response.get_data(as_text=True)


def test_callback_alone_pays_and_the_order_page_says_so(stack):
    _, token, purchase_id = go_to_checkout(stack)
    callback_url = stack.shop_url + "/avarda/purchase-completed"
    stack.complete(purchase_id, "Invoice", PurchaseCompletedCallbackUrl=callback_url)

    def paid() -> bool:
        stack.deliver()
        return stack.shop.client.get(f"/orders/{token}/status").get_json()["state"] == "paid"

    wait_until(paid, timeout=10, message="the callback pays the order")
    status = stack.shop.client.get(f"/orders/{token}/status").get_json()
    assert status["confirmed_by"] == "callback"

    later = stack.shop.fresh_client()  # a new browser, days later
    words = text(later.get(f"/orders/{token}"))
    assert re.search(
        r"Paid\. Confirmed by Avarda's server-side callback at \d\d:\d\d:\d\d; "
        r"your browser did not return to the shop\.",
        words,
    ), words
    assert "Confirmed by Avarda's server-side callback" in words

    # The original browser comes back to the shop: its cart knows the order is paid.
    response = stack.shop.cart.page()
    assert any("is paid" in f for f in flashes(response))
    assert stack.shop.cart.lines() == []


def test_order_page_and_status_for_unknown_tokens_are_404(stack):
    assert stack.shop.client.get("/orders/nope", headers={"Accept": "text/html"}).status_code == 404
    response = stack.shop.client.get("/orders/nope/status")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404
    assert stack.shop.client.get("/orders/" + "x" * 300).status_code == 404


def test_pending_order_page_polls_and_says_it_is_waiting(stack):
    _, token, _ = go_to_checkout(stack)
    response = stack.shop.client.get(f"/orders/{token}")
    assert "Waiting for payment." in text(response)
    assert "/static/js/order-status.js" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_out_of_stock_at_checkout_sends_the_customer_back_to_the_cart(stack):
    stack.shop.cart.add("SOCKS-01", 5)

    def sell_socks() -> None:
        db.session.execute(sa.update(Product).where(Product.sku == "SOCKS-01").values(stock=2))
        db.session.commit()

    stack.shop.query(sell_socks)
    cart_page = text(stack.shop.cart.page())
    assert "Only 2 in stock" in cart_page
    response = stack.shop.client.get("/checkout", follow_redirects=True)
    assert response.request.path == "/cart"
    assert "Not enough in stock: SOCKS-01." in flashes(response)
    assert orders_count(stack) == 0


def test_avarda_unavailable_sends_the_customer_back_to_the_cart(tmp_path):
    app = make_shop(
        tmp_path / "shop.db", AVARDA_BASE_URL=f"http://127.0.0.1:{free_port()}/CheckOut2"
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
        dispose(app)


def test_done_page_for_an_order_held_for_stock_claims_no_amount_difference(stack):
    _, token, purchase_id = go_to_checkout(stack, ("SOCKS-01", 3))

    def sell_socks() -> None:
        db.session.execute(sa.update(Product).where(Product.sku == "SOCKS-01").values(stock=1))
        db.session.commit()

    stack.shop.query(sell_socks)
    stack.complete(purchase_id, "Invoice")

    words = text(stack.shop.client.get(f"/checkout/done?purchaseId={purchase_id}"))

    hold_reason = stack.shop.query(
        lambda: db.session.scalar(sa.select(Order.hold_reason).where(Order.token == token))
    )
    assert "not enough stock" in hold_reason  # held for stock, not for the amount
    assert "Payment received, order on hold" in words
    assert "our staff are reviewing the order" in words
    assert "amount" not in words.lower() and "differ" not in words.lower()
    assert "Payment confirmed" not in words
