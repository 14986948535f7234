"""CheckOutClient.js in headless Chromium, embedded by a tiny shop on another port."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask, request

from sandbox import purchases
from tests.support import wait_until

pytestmark = pytest.mark.browser

EXAMPLE_ID = "489ea341e23941089e6d0378c708512a"
SEED = Path("/work/shared/avarda/server-side-callback.txt")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "avarda" / "server-side-callback.txt"


def documented_example() -> str:
    """Avarda's example init call, verbatim from its server-side callback page."""
    source = SEED if SEED.exists() else DOCS
    if not source.exists():
        pytest.skip("server-side-callback.txt is not available")
    text = source.read_text()
    start = text.index("var options = {")
    end = text.index("AvardaCheckOutClient.init(options);") + len(
        "AvardaCheckOutClient.init(options);"
    )
    return text[start:end]


def shop_app(sandbox_base: str) -> Flask:
    """A shop with the example page, a configurable checkout page and done pages."""
    app = Flask("test_shop")
    script = f'<script src="{sandbox_base}/Scripts/CheckOutClient.js"></script>'

    @app.get("/example")
    def example():
        body = f'<div id="checkOutDiv"></div>{script}<script>\n{documented_example()}\n</script>'
        return f"<html><body>{body}</body></html>"

    @app.get("/checkout")
    def checkout():
        purchase_id = request.args["purchaseId"]
        hooks = request.args.get("hooks", "")
        options = {
            "callbackUrl": request.base_url + "?purchaseId=" + purchase_id + "&hooks=" + hooks,
            "purchaseCompletedCallbackUrl": "http://127.0.0.1:9/callback",
            "someUnknownOption": 42,
        }
        return f"""<html><body><h1>Shop checkout</h1><div id="avarda"></div>{script}
<script>
window.hookCalls = [];
window.doneCalls = [];
var options = {json.dumps(options)};
options.divId = "avarda";
options.purchaseId = {json.dumps(purchase_id)};
options.done = function (id) {{
  window.doneCalls.push(id);
  if ({json.dumps(hooks)} !== "stay") {{ window.location.href = "/done?purchaseId=" + id; }}
}};
options.beforeCompleteHook = function (result, purchaseId, method) {{
  window.hookCalls.push([purchaseId, method]);
  if ({json.dumps(hooks)} === "cancel" && window.hookCalls.length === 1) {{
    result.cancel("Sorry, the mug is out of stock.");
  }} else {{
    result.continue();
  }}
}};
AvardaCheckOutClient.init(options);
</script></body></html>"""

    @app.get("/done.php")
    @app.get("/done")
    def done():
        return f"<html><body><p id='done'>Done {request.args.get('purchaseId')}</p></body></html>"

    return app


@pytest.fixture
def shop(sandbox, live_server):
    return live_server(shop_app(sandbox.base))


def frame(page):
    return page.frame_locator("#avarda-checkout-frame")


def complete_in_form(page, method_label: str = "Invoice"):
    form = frame(page)
    form.get_by_label(method_label, exact=True).check()
    form.get_by_role("button", name="Complete purchase").click()


def test_avardas_documented_example_works_unchanged(sandbox, shop, page, monkeypatch):
    monkeypatch.setattr(purchases, "new_purchase_id", lambda: EXAMPLE_ID)
    assert sandbox.initialize() == EXAMPLE_ID
    page.goto(f"{shop}/example")
    expect_field = frame(page).get_by_label("E-mail")
    assert expect_field.input_value()  # prefilled demo customer
    complete_in_form(page)
    page.wait_for_url(f"{shop}/done.php?purchaseId={EXAMPLE_ID}")
    purchase = sandbox.purchase(EXAMPLE_ID)
    assert purchase["State"] == 2 and purchase["PaymentMethod"] == 0
    assert purchase["PurchaseCompletedCallbackUrl"] == "https://my-shop.com/completed.php"
    assert purchase["CallbackUrl"].startswith("https://my-shop.com/checkout.php")
    [delivery] = purchase["deliveries"]
    sandbox.deliver()  # my-shop.com is not on the allowlist: refused, never fetched
    assert sandbox.purchase(EXAMPLE_ID)["deliveries"][0]["status"] == "refused"
    assert delivery["url"] == "https://my-shop.com/completed.php"


@pytest.mark.parametrize(
    ("label", "page_path", "waiting_state", "wire_method"),
    [("Card", "/CardIssuer/", 6, 2), ("Direct payment", "/Bank/", 9, 3)],
)
def test_external_step_returns_to_callback_url_and_resumes(
    sandbox, shop, page, label, page_path, waiting_state, wire_method
):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}")
    complete_in_form(page, label)
    page.wait_for_url(re.compile(re.escape(page_path)))
    assert sandbox.status(purchase_id)["State"] == waiting_state
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"/done\?"))
    assert page.url == f"{shop}/done?purchaseId={purchase_id}"
    purchase = sandbox.purchase(purchase_id)
    assert purchase["State"] == 2 and purchase["PaymentMethod"] == wire_method
    assert [change["to"] for change in purchase["history"]][-2:] == [waiting_state, 2]
    assert len(purchase["deliveries"]) == 1


def test_card_decline_ends_in_error_shown_in_the_form(sandbox, shop, page):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    complete_in_form(page, "Card")
    page.wait_for_url(re.compile("/CardIssuer/"))
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(re.compile(r"callback=1&purchaseId=" + purchase_id))
    frame(page).get_by_text("The card payment was declined.").wait_for()
    assert sandbox.status(purchase_id)["State"] == 3
    assert page.evaluate("window.doneCalls") == []


def test_done_delay_shows_the_notice_then_calls_done(sandbox, shop, page):
    sandbox.settings(done_delay_seconds=1)
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}")
    complete_in_form(page)
    frame(page).get_by_text(
        "Purchase completed. Returning you to the shop in 1 s. "
        "Close this tab to see the server-side callback at work."
    ).wait_for()
    assert sandbox.status(purchase_id)["State"] == 2  # committed before the browser hears
    page.wait_for_url(re.compile(r"/done\?"))


def test_never_call_done(sandbox, shop, page):
    sandbox.settings(never_call_done=True)
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    complete_in_form(page)
    frame(page).get_by_text("Purchase completed.").wait_for()
    assert sandbox.status(purchase_id)["State"] == 2
    assert page.evaluate("window.doneCalls") == []


def test_a_hook_can_cancel_and_then_continue(sandbox, shop, page):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=cancel")
    complete_in_form(page)
    frame(page).get_by_text("Sorry, the mug is out of stock.").wait_for()
    assert sandbox.status(purchase_id)["State"] == 1
    assert page.evaluate("window.hookCalls") == [[purchase_id, "Invoice"]]
    frame(page).get_by_role("button", name="Complete purchase").click()
    page.wait_for_url(re.compile(r"/done\?"))
    wait_until(lambda: sandbox.status(purchase_id)["State"] == 2, timeout=5)


def test_fail_payment(sandbox, shop, page):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    complete_in_form(page, "Fail payment")
    frame(page).get_by_text("The payment failed.").wait_for()
    assert sandbox.status(purchase_id)["State"] == 3


def test_update_items_refreshes_the_form(sandbox, shop, page):
    from tests.sandbox.conftest import cart

    purchase_id = sandbox.initialize("250.00")
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    total = frame(page).locator("#checkout-total")
    total.wait_for()
    assert total.inner_text() == "250.00"
    assert sandbox.api("UpdateItems", {"PurchaseId": purchase_id, **cart("300.00")}).ok
    page.evaluate("AvardaCheckOutClient.updateItems()")
    frame(page).get_by_text("300.00", exact=True).wait_for()
