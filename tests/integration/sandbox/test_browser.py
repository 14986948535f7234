"""CheckOutClient.js in headless Chromium, embedded by a tiny shop on another port."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask, Response, request
from playwright.sync_api import Page, expect

from sandbox import purchases
from tests.harness import ROOT, wait_until

pytestmark = pytest.mark.browser

EXAMPLE_ID = "489ea341e23941089e6d0378c708512a"
SEED = Path("/work/shared/avarda/server-side-callback.txt")
DOCS = ROOT / "docs" / "avarda" / "server-side-callback.txt"


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


CUSTOM_CSS = ".checkout-title { color: rgb(1, 2, 3); }"


def shop_app(sandbox_base: str, pages: dict[str, str] | None = None) -> Flask:
    """A shop with the example page, a configurable checkout page and done pages.

    ``/page/<name>`` runs ``pages[name]``: JavaScript that adjusts ``options`` (already
    holding divId, purchaseId and a ``done`` that only records its calls) before ``init``.
    """
    app = Flask("test_shop")
    pages = pages if pages is not None else {}
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
options.beforeCompleteHook = function (result, purchaseId) {{
  window.hookCalls.push([purchaseId, result.message]);
  if ({json.dumps(hooks)} === "cancel" && window.hookCalls.length === 1) {{
    result.cancel("Sorry, the mug is out of stock.");
  }} else {{
    result.continue();
  }}
}};
AvardaCheckOutClient.init(options);
</script></body></html>"""

    @app.get("/page/<name>")
    def custom_page(name: str):
        return f"""<html><body><h1>Shop checkout</h1><div id="avarda"></div>{script}
<script>
window.doneCalls = [];
var options = {{
  divId: "avarda",
  purchaseId: {json.dumps(request.args["purchaseId"])},
  done: function (id) {{ window.doneCalls.push(id); }}
}};
{pages[name]}
AvardaCheckOutClient.init(options);
</script></body></html>"""

    @app.get("/custom.css")
    def custom_css():
        return Response(CUSTOM_CSS, mimetype="text/css")

    @app.get("/done.php")
    @app.get("/done")
    def done():
        return f"<html><body><p id='done'>Done {request.args.get('purchaseId')}</p></body></html>"

    return app


@pytest.fixture
def shop(sandbox, live_server):
    url = live_server(shop_app(sandbox.base))
    allow(sandbox, url)
    return url


def allow(sandbox, shop_url: str) -> None:
    """The test shop's origin may frame the form and get callbacks (beside the defaults)."""
    allowed = sandbox.settings()["callback_allowed_origins"]
    sandbox.settings(callback_allowed_origins=[*allowed, shop_url])


@dataclass
class Host:
    """The test shop, with pages each test writes for itself."""

    url: str
    pages: dict[str, str]

    def open(self, page: Page, purchase_id: str, js: str = "") -> None:
        """Show the checkout for ``purchase_id`` after running ``js`` on ``options``."""
        name = f"p{len(self.pages)}"
        self.pages[name] = js
        page.goto(f"{self.url}/page/{name}?purchaseId={purchase_id}")


@pytest.fixture
def host(sandbox, live_server) -> Host:
    pages: dict[str, str] = {}
    url = live_server(shop_app(sandbox.base, pages))
    allow(sandbox, url)
    return Host(url, pages)


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
    # my-shop.com is not on the merchant's allowed origins: its URLs are refused, noted,
    # and never called.
    assert purchase["PurchaseCompletedCallbackUrl"] is None and purchase["CallbackUrl"] is None
    assert purchase["deliveries"] == []
    refusals = [c["note"] for c in purchase["history"] if "refused" in (c["note"] or "")]
    assert len(refusals) == 2


STEPS = [
    ("Card", "/CardIssuer/", 6, 2),
    ("Direct payment", "/Bank/", 9, 3),
    ("Loan", "/Signicat/", 4, 1),
    ("Part payment", "/BankId/", 7, 4),
]


@pytest.mark.parametrize(("label", "page_path", "waiting_state", "wire_method"), STEPS)
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


@pytest.mark.parametrize(("label", "page_path", "waiting_state", "wire_method"), STEPS)
def test_a_declined_step_returns_to_the_form_to_choose_another_method_without_done(
    sandbox, shop, page, label, page_path, waiting_state, wire_method
):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    complete_in_form(page, label)
    page.wait_for_url(re.compile(re.escape(page_path)))
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(re.compile(r"callback=1&purchaseId=" + purchase_id))
    expect(frame(page).get_by_text("Choose another payment method.")).to_be_visible()
    status = sandbox.status(purchase_id)
    assert (status["State"], status["PaymentMethod"]) == (1, None)
    assert page.evaluate("window.doneCalls") == []
    complete_in_form(page, "Invoice")
    page.wait_for_function("window.doneCalls.length === 1")
    assert page.evaluate("window.doneCalls") == [purchase_id]
    history = [change["to"] for change in sandbox.purchase(purchase_id)["history"]]
    assert history == [0, 1, waiting_state, 1, 2]


@pytest.mark.parametrize(("label", "page_path", "waiting_state", "wire_method"), STEPS[:2])
def test_a_failed_step_ends_in_error_and_done_is_called(
    sandbox, shop, page, label, page_path, waiting_state, wire_method
):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    complete_in_form(page, label)
    page.wait_for_url(re.compile(re.escape(page_path)))
    page.get_by_role("button", name="Fail").click()
    page.wait_for_url(re.compile(r"callback=1&purchaseId=" + purchase_id))
    expect(frame(page).get_by_text("payment failed.")).to_be_visible()
    page.wait_for_function("window.doneCalls.length === 1")
    assert page.evaluate("window.doneCalls") == [purchase_id]
    assert sandbox.status(purchase_id)["State"] == 3


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
    [[hook_purchase_id, message]] = page.evaluate("window.hookCalls")
    assert hook_purchase_id == purchase_id
    assert message == {
        "type": "question",
        "question": "beforeCompleteHook",
        "data": {
            "externalId": purchase_id,
            "selectedPaymentMethod": "Invoice",
            "deliveryZip": "11122",
            "deliveryCountry": "Sweden",
        },
    }
    frame(page).get_by_role("button", name="Complete purchase").click()
    page.wait_for_url(re.compile(r"/done\?"))
    wait_until(lambda: sandbox.status(purchase_id)["State"] == 2, timeout=5)


def test_a_failed_payment_shows_why_then_calls_done(sandbox, shop, page):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    complete_in_form(page, "Fail payment")
    frame(page).get_by_text("The payment failed.").wait_for()
    page.wait_for_function("window.doneCalls.length === 1")
    assert page.evaluate("window.doneCalls") == [purchase_id]
    assert sandbox.status(purchase_id)["State"] == 3


def test_done_after_a_failure_goes_to_the_shops_done_page(sandbox, shop, page):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}")
    complete_in_form(page, "Fail payment")
    page.wait_for_url(f"{shop}/done?purchaseId={purchase_id}")
    assert sandbox.status(purchase_id)["State"] == 3


def test_init_again_for_a_finished_purchase_calls_done(sandbox, shop, page):
    purchase_id = sandbox.initialize()
    sandbox.complete(purchase_id, "Fail")
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    expect(frame(page).get_by_text("The payment failed.")).to_be_visible()
    page.wait_for_function("window.doneCalls.length === 1")
    timed_out = sandbox.initialize()
    sandbox.admin("POST", f"Purchases/{timed_out}/Expire")
    page.goto(f"{shop}/checkout?purchaseId={timed_out}&hooks=stay")
    expect(frame(page).get_by_text("The checkout session timed out.")).to_be_visible()
    page.wait_for_function("window.doneCalls.length === 1")
    assert page.evaluate("window.doneCalls") == [timed_out]


def test_update_items_refreshes_the_form(sandbox, shop, page):
    from tests.integration.sandbox.support import cart

    purchase_id = sandbox.initialize("250.00")
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    total = frame(page).locator("#checkout-total")
    total.wait_for()
    assert total.inner_text() == "SEK 250.00"
    assert sandbox.api("UpdateItems", {"PurchaseId": purchase_id, **cart("300.00")}).ok
    page.evaluate("AvardaCheckOutClient.updateItems()")
    expect(total).to_have_text("SEK 300.00")


BEFORE_SUBMIT = """
window.allowSubmit = false;
window.submitCalls = 0;
window.hookCalls = [];
options.beforeSubmit = function () {
  window.submitCalls += 1;
  return window.allowSubmit;
};
options.beforeCompleteHook = function (result, purchaseId) {
  window.hookCalls.push(result.message.data.selectedPaymentMethod);
  result.continue();
};
"""


def test_before_submit_false_stops_the_submission_and_true_lets_it_through(sandbox, host, page):
    purchase_id = sandbox.initialize()
    host.open(page, purchase_id, BEFORE_SUBMIT)
    button = frame(page).get_by_role("button", name="Complete purchase")
    button.click()
    page.wait_for_function("window.submitCalls === 1")
    expect(button).to_be_enabled()  # the form has heard the answer and stopped
    assert page.evaluate("[window.hookCalls, window.doneCalls]") == [[], []]
    purchase = sandbox.purchase(purchase_id)
    assert purchase["State"] == 1 and purchase["Completed"] is None

    page.evaluate("window.allowSubmit = true")
    button.click()
    page.wait_for_function("window.doneCalls.length === 1")
    assert page.evaluate("[window.submitCalls, window.hookCalls, window.doneCalls]") == [
        2,
        ["Invoice"],
        [purchase_id],
    ]
    assert sandbox.status(purchase_id)["State"] == 2


ADDRESS_HOOK = """
window.addressCalls = [];
options.updateDeliveryAddressHook = function (result, customerInfo) {
  window.addressCalls.push(customerInfo);
  if (customerInfo.ZipCode === "99999") {
    result.cancel("We do not deliver to 99999.");
  } else {
    result.continue();
  }
};
"""


def delivery_zip(page):
    return frame(page).locator("#delivery-fields").get_by_label("Postal code")


def fill_delivery_address(page, zip_code: str) -> None:
    """Tick "different address" and type one in, ending in the (still focused) postal code."""
    form = frame(page)
    form.get_by_label("Deliver to a different address").check()
    delivery = form.locator("#delivery-fields")
    delivery.get_by_label("First name").fill("Rut")
    delivery.get_by_label("Last name").fill("Berg")
    delivery.get_by_label("Address", exact=True).fill("Storgatan 2")
    delivery.get_by_label("City").fill("Lund")
    delivery_zip(page).fill(zip_code)


def test_delivery_address_hook_cancel_keeps_the_purchase_open_and_continue_completes(
    sandbox, host, page
):
    purchase_id = sandbox.initialize()
    host.open(page, purchase_id, ADDRESS_HOOK)
    form = frame(page)
    fill_delivery_address(page, "99999")
    delivery_zip(page).press("Tab")  # leaving the field changes it
    refusal = form.get_by_text("We do not deliver to 99999.")
    expect(refusal).to_be_visible()
    info = page.evaluate("window.addressCalls[window.addressCalls.length - 1]")
    assert info == {  # the shape Avarda's modules read
        "FirstName": "Rut",
        "LastName": "Berg",
        "Address": "Storgatan 2",
        "ZipCode": "99999",
        "City": "Lund",
        "Country": "Sweden",
    }

    button = form.get_by_role("button", name="Complete purchase")
    button.click()
    expect(button).to_be_enabled()
    expect(refusal).to_be_visible()
    assert page.evaluate("window.doneCalls") == []
    assert sandbox.status(purchase_id)["State"] == 1

    delivery_zip(page).fill("22222")
    button.click()  # the change (on leaving the field) reaches the hook before the submit
    page.wait_for_function("window.doneCalls.length === 1")
    last = page.evaluate("window.addressCalls[window.addressCalls.length - 1]")
    assert last["ZipCode"] == "22222"
    status = sandbox.status(purchase_id)
    assert status["State"] == 2 and status["UseDifferentDeliveryAddress"] is True
    assert (status["DeliveryFirstName"], status["DeliveryZip"]) == ("Rut", "22222")


def test_a_refused_address_changed_just_before_submitting_is_not_completed(sandbox, host, page):
    purchase_id = sandbox.initialize()
    host.open(page, purchase_id, ADDRESS_HOOK)
    fill_delivery_address(page, "99999")
    button = frame(page).get_by_role("button", name="Complete purchase")
    button.click()  # blurs the postal code: the hook's answer and the submit race
    expect(frame(page).get_by_text("We do not deliver to 99999.")).to_be_visible()
    expect(button).to_be_enabled()
    assert page.evaluate("window.doneCalls") == []
    assert sandbox.status(purchase_id)["State"] == 1


def test_going_back_to_the_invoicing_address_asks_the_delivery_hook_again(sandbox, host, page):
    purchase_id = sandbox.initialize()
    host.open(page, purchase_id, ADDRESS_HOOK)
    form = frame(page)
    fill_delivery_address(page, "99999")
    delivery_zip(page).press("Tab")
    refusal = form.get_by_text("We do not deliver to 99999.")
    expect(refusal).to_be_visible()
    form.get_by_label("Deliver to a different address").uncheck()
    expect(refusal).to_be_hidden()
    info = page.evaluate("window.addressCalls[window.addressCalls.length - 1]")
    assert (info["FirstName"], info["ZipCode"]) == ("Anna", "11122")  # the invoicing address
    form.get_by_role("button", name="Complete purchase").click()
    page.wait_for_function("window.doneCalls.length === 1")
    status = sandbox.status(purchase_id)
    assert status["State"] == 2 and status["UseDifferentDeliveryAddress"] is False
    assert status["DeliveryZip"] is None


@pytest.mark.parametrize("replace", [True, False])
def test_custom_css(sandbox, host, page, replace):
    purchase_id = sandbox.initialize()
    js = f'options.customCssUrl = "/custom.css"; options.replaceDefaultCss = {json.dumps(replace)};'
    host.open(page, purchase_id, js)
    form = frame(page)
    expect(form.locator(".checkout-title")).to_have_css("color", "rgb(1, 2, 3)")
    sheets = form.locator("link[rel=stylesheet]")
    hrefs = [sheets.nth(i).get_attribute("href") for i in range(sheets.count())]
    assert hrefs[-1] == f"{host.url}/custom.css"  # last, so it overrides the default
    assert len(hrefs) == (1 if replace else 2)
    accent = "rgb(10, 110, 92)"  # sandbox.css's primary button
    button = form.get_by_role("button", name="Complete purchase")
    if replace:
        expect(button).not_to_have_css("background-color", accent)
    else:
        assert hrefs[0].endswith("/sandbox.css")
        expect(button).to_have_css("background-color", accent)


def test_unknown_options_are_ignored(sandbox, host, page):
    purchase_id = sandbox.initialize()
    js = """
options.someFutureOption = true;
options.onSomething = function () { window.unknownCalled = true; };
options.nested = {style: {colour: "red"}};
"""
    host.open(page, purchase_id, js)
    complete_in_form(page)
    page.wait_for_function("window.doneCalls.length === 1")
    assert page.evaluate("window.unknownCalled === undefined")
    assert sandbox.status(purchase_id)["State"] == 2


def third_party_app() -> Flask:
    app = Flask("third_party")

    @app.get("/frame")
    def frame_page():
        return "<html><body><p id='ready'>An advert</p></body></html>"

    return app


RECORD_MARKERS = """() => {
  window.markers = [];
  window.addEventListener("message", function (event) {
    if (event.data === "marker") { window.markers.push(event.origin); }
  });
}"""

FORGE = """([purchaseId, pwned]) => {
  var forged = [];
  for (var id = 1; id <= 5; id++) {
    forged.push({avarda: true, type: "hookResult", id: id, ok: true, message: ""});
  }
  for (var i = 0; i < parent.frames.length; i++) {
    var sibling = parent.frames[i];
    if (sibling === window) { continue; }
    forged.forEach(function (message) { sibling.postMessage(message, "*"); });
    sibling.postMessage("marker", "*");
  }
  parent.postMessage({avarda: true, type: "done", purchaseId: purchaseId}, "*");
  parent.postMessage({avarda: true, type: "redirect", url: pwned, purchaseId: purchaseId}, "*");
  parent.postMessage("marker", "*");
}"""


def test_messages_from_a_foreign_origin_are_ignored(sandbox, host, page, live_server):
    """A third-party frame on the shop's page forges the sandbox's and the shop's messages.

    Messages from one window to another arrive in the order sent, so once the marker
    sent after the forgeries has arrived, the forgeries have been handled (and ignored).
    """
    third_party = live_server(third_party_app())
    purchase_id = sandbox.initialize()
    js = f"""
options.beforeCompleteHook = function (result) {{ window.held = result; }};
var advert = document.createElement("iframe");
advert.id = "advert";
advert.src = {json.dumps(third_party + "/frame")};
document.body.appendChild(advert);
({RECORD_MARKERS})();
"""
    host.open(page, purchase_id, js)
    shop_url = page.url
    frame(page).get_by_role("button", name="Complete purchase").click()
    page.wait_for_function("window.held !== undefined")  # beforeComplete awaits the shop

    expect(page.frame_locator("#advert").locator("#ready")).to_be_attached()
    checkout = page.frame(name="avarda-checkout")
    checkout.evaluate(RECORD_MARKERS)
    advert = page.frame(url=f"{third_party}/frame")
    advert.evaluate(FORGE, [purchase_id, f"{third_party}/pwned"])
    page.wait_for_function("window.markers.length === 1")
    checkout.wait_for_function("window.markers.length === 1")
    assert page.evaluate("window.markers") == checkout.evaluate("window.markers") == [third_party]
    assert page.evaluate("window.doneCalls") == [] and page.url == shop_url

    page.evaluate("window.held.cancel('Held by the shop.')")  # the form still awaits it
    expect(frame(page).get_by_text("Held by the shop.")).to_be_visible()
    assert sandbox.status(purchase_id)["State"] == 1


AVARDAS_HOOK = """
window.refuse = true;
options.beforeCompleteHook = function (result, purchaseId) {
    // Your implementation
    window.seen = {purchaseId: purchaseId, message: result.message};
    if (window.refuse) {
        result.cancel();
    } else {
        result.continue();
    }
};
"""


def test_a_before_complete_hook_written_from_avardas_page_works_unchanged(sandbox, host, page):
    purchase_id = sandbox.initialize()
    host.open(page, purchase_id, AVARDAS_HOOK)
    form = frame(page)
    fill_delivery_address(page, "22100")
    form.get_by_label("Direct payment", exact=True).check()
    button = form.get_by_role("button", name="Complete purchase")
    button.click()
    default = "Order could not be confirmed. Please reload shopping cart."
    expect(form.get_by_text(default)).to_be_visible()
    assert page.evaluate("window.seen") == {
        "purchaseId": purchase_id,
        "message": {
            "type": "question",
            "question": "beforeCompleteHook",
            "data": {
                "externalId": purchase_id,
                "selectedPaymentMethod": "DirectBank",  # Avarda's name for a bank payment
                "deliveryZip": "22100",  # the separate delivery address
                "deliveryCountry": "Sweden",
            },
        },
    }
    assert sandbox.status(purchase_id)["State"] == 1
    page.evaluate("window.refuse = false")
    button.click()
    page.wait_for_url(re.compile("/Bank/"))
    assert sandbox.status(purchase_id)["State"] == 9


def test_a_hook_that_throws_cancels_with_the_default_message(sandbox, host, page):
    purchase_id = sandbox.initialize()
    js = "options.beforeCompleteHook = function () { throw new Error('bug in the shop'); };"
    host.open(page, purchase_id, js)
    complete_in_form(page)
    expect(
        frame(page).get_by_text("Order could not be confirmed. Please reload shopping cart.")
    ).to_be_visible()
    assert sandbox.status(purchase_id)["State"] == 1
    assert page.evaluate("window.doneCalls") == []


def test_init_requires_div_id_purchase_id_and_done(sandbox, host, page):
    purchase_id = sandbox.initialize()
    host.open(page, purchase_id, "window.ready = true;")
    expect(frame(page).get_by_role("button", name="Complete purchase")).to_be_visible()
    missing = page.evaluate(
        """() => ["divId", "purchaseId", "done"].map(function (key) {
            var options = {divId: "avarda", purchaseId: "x", done: function () {}};
            delete options[key];
            try { AvardaCheckOutClient.init(options); return null; }
            catch (error) { return error.message; }
        })"""
    )
    assert missing == [
        "AvardaCheckOutClient: options.divId is required",
        "AvardaCheckOutClient: options.purchaseId is required",
        "AvardaCheckOutClient: options.done must be a function",
    ]


def test_read_only_fields_follow_the_is_editable_flags(sandbox, host, page):
    purchase_id = sandbox.initialize(
        IsPhoneAndMailEditable=False,
        IsDeliveryEditable="false",
        UseDifferentDeliveryAddress="true",
        DeliveryZip="22100",
    )
    host.open(page, purchase_id)
    form = frame(page)
    expect(form.get_by_label("E-mail")).not_to_be_editable()
    expect(form.get_by_label("Deliver to a different address")).to_be_disabled()
    expect(delivery_zip(page)).to_have_value("22100")
    expect(delivery_zip(page)).not_to_be_editable()
    expect(form.locator("#invoicing-fields").get_by_label("Postal code")).to_be_editable()


def test_the_form_marks_each_empty_required_field_and_completes_nothing(sandbox, shop, page):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    form = frame(page)
    form.get_by_label("E-mail").fill("")
    form.locator("#invoicing-fields").get_by_label("Postal code").fill("")
    form.get_by_role("button", name="Complete purchase").click()

    mail = form.get_by_label("E-mail")
    expect(mail).to_have_attribute("aria-invalid", "true")
    expect(mail).to_be_focused()
    expect(form.locator("#f-Mail-error")).to_have_text(
        "Enter your e-mail address: the shop sends your receipt there."
    )
    assert mail.get_attribute("aria-describedby") == "f-Mail-error"
    expect(form.locator("#f-InvoicingZip-error")).to_have_text("Enter your postal code.")
    expect(form.locator("#f-Phone-error")).to_be_hidden()
    assert page.evaluate("window.hookCalls") == []
    assert sandbox.status(purchase_id)["State"] == 1

    # Putting a field right takes its error away; a wrong address is named as such.
    mail.fill("anna@example.com")
    expect(form.locator("#f-Mail-error")).to_be_hidden()
    expect(mail).not_to_have_attribute("aria-invalid", "true")
    mail.fill("anna")
    form.locator("#invoicing-fields").get_by_label("Postal code").fill("11122")
    form.get_by_role("button", name="Complete purchase").click()
    expect(form.locator("#f-Mail-error")).to_have_text(
        "Enter an e-mail address like name@example.com."
    )
    mail.fill("anna@example.com")
    form.get_by_role("button", name="Complete purchase").click()
    page.wait_for_function("window.doneCalls.length === 1")
    assert sandbox.status(purchase_id)["Mail"] == "anna@example.com"


def test_the_sandbox_refuses_an_empty_required_field_from_the_form(sandbox):
    """The server does not trust the form's own checks: it says which fields are empty."""
    purchase_id = sandbox.initialize()
    url = f"{sandbox.base}/Checkout/{purchase_id}/Complete"
    body = {name: "x" for name in ("Phone", "InvoicingFirstName", "InvoicingLastName")}
    body |= {"Mail": "", "InvoicingAddressLine1": "Storgatan 1", "InvoicingZip": " ",
             "InvoicingCity": "Lund", "PaymentMethod": "Invoice"}  # fmt: skip
    response = requests.post(url, json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["fields"] == {"Mail": "missing", "InvoicingZip": "missing"}
    assert sandbox.status(purchase_id)["State"] in (0, 1)

    separate = body | {"Mail": "a@b.se", "InvoicingZip": "22100"}
    separate |= {"UseDifferentDeliveryAddress": True, "DeliveryCity": "Malmö"}
    response = requests.post(url, json=separate, timeout=5)
    assert set(response.json()["fields"]) == {
        "DeliveryFirstName", "DeliveryLastName", "DeliveryAddressLine1", "DeliveryZip",
    }  # fmt: skip
    response = requests.post(url, json=separate | {"Mail": "not an address"}, timeout=5)
    assert response.json()["fields"] == {"Mail": "wrong"}

    assert requests.post(url, json=body | {"Mail": "a@b.se", "InvoicingZip": "22100"},
                         timeout=5).json()["status"] == "completed"  # fmt: skip


def test_the_frame_fits_the_form_and_shrinks_when_the_form_goes(sandbox, shop, page):
    purchase_id = sandbox.initialize()
    page.goto(f"{shop}/checkout?purchaseId={purchase_id}&hooks=stay")
    form = frame(page)
    expect(form.get_by_role("button", name="Complete purchase")).to_be_visible()
    iframe = page.locator("#avarda-checkout-frame")

    def fits() -> bool:
        inner = form.locator("main").evaluate("m => m.getBoundingClientRect().height")
        return abs(iframe.bounding_box()["height"] - max(inner, 200)) < 2  # 200: the minimum

    wait_until(fits, message="the frame is as tall as the form")
    tall = iframe.bounding_box()["height"]
    complete_in_form(page, "Fail payment")
    expect(form.get_by_text("The payment failed.")).to_be_visible()
    wait_until(lambda: iframe.bounding_box()["height"] < tall / 2, message="the frame shrinks")
    wait_until(fits, message="the frame is as tall as the message")
