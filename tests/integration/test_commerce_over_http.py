"""Deliver, return, refund, close and cancel from the back office, against the real sandbox
over HTTP: an admin's browser-less session posts the order page's own forms (CSRF token
and idempotency key included), and after every action the shop's amounts must equal
Avarda's (the sandbox's admin API).

Also: a second submission of the same form, Avarda refusing (cancel after a delivery,
refund above what Avarda holds as delivered), and Avarda unreachable or silent (the
action stays unconfirmed; the retry applies it once).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from werkzeug.wrappers import Request, Response

from shop.avarda import AvardaClient, Item, new_tran_id
from shop.extensions import db
from shop.models import CommerceAction, Order, OutboxEmail, Product
from tests.harness import ADMIN_EMAIL, ADMIN_PASSWORD, SITE_CODE, Stack, serve_wsgi


class Forms(HTMLParser):
    """The page's forms: action URL → {field name: value} (inputs as rendered)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = self.forms.setdefault(a.get("action", ""), {})
        elif tag == "input" and self._current is not None and a.get("name"):
            self._current[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def words(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#39;", "'")


class BackOffice:
    """An admin signed in over HTTP, using the order page's forms as rendered."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = requests.Session()
        login = self.http.get(f"{stack.shop_url}/admin/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login)
        token = token or re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token, "the login form has a CSRF token"
        response = self.http.post(
            f"{stack.shop_url}/admin/login",
            data={"csrf_token": token.group(1), "email": ADMIN_EMAIL,
                  "password": ADMIN_PASSWORD},
            allow_redirects=False, timeout=10,
        )  # fmt: skip
        assert response.status_code == 303, response.text

    def page(self, number: str) -> str:
        response = self.http.get(f"{self.stack.shop_url}/admin/orders/{number}", timeout=10)
        assert response.status_code == 200
        return response.text

    def follow(self, response: requests.Response) -> str:
        """The page a form's redirect leads to (the order page with the outcome)."""
        assert response.status_code == 303, response.text
        location = response.headers["Location"]
        if location.startswith("/"):
            location = self.stack.shop_url + location
        return self.http.get(location, timeout=10).text

    def form(self, number: str, action: str) -> dict[str, str]:
        parser = Forms()
        parser.feed(self.page(number))
        path = f"/admin/orders/{number}/{action}"
        assert path in parser.forms, f"the order page offers {action}: {list(parser.forms)}"
        return dict(parser.forms[path])

    def post(self, number: str, action: str, fields: dict[str, Any]) -> requests.Response:
        return self.http.post(
            f"{self.stack.shop_url}/admin/orders/{number}/{action}",
            data=fields, allow_redirects=False, timeout=30,
        )  # fmt: skip

    def act(self, number: str, action: str, **changes: Any) -> requests.Response:
        """Fill in the rendered form of ``action`` with ``changes`` and send it."""
        fields = self.form(number, action)
        fields.update({k.replace("_", "-") if k.startswith("qty") else k: v
                       for k, v in changes.items()})  # fmt: skip
        return self.post(number, action, fields)


@pytest.fixture
def office(stack: Stack) -> BackOffice:
    return BackOffice(stack)


def paid_order(stack: Stack, *lines: tuple[str, int], method: str = "Invoice") -> Order:
    """An order paid through the server callback (the sandbox's worker posts it)."""
    session = stack.checkout(*lines)
    stack.complete(session.purchase_id, method)
    stack.deliver_until_done(session.purchase_id)
    assert stack.status(session.order_token)["state"] == "paid"
    return order_of(stack, session.order_number)


def order_of(stack: Stack, number: str) -> Order:
    with stack.shop_app.app_context():
        order = db.session.scalars(sa.select(Order).where(Order.number == number)).one()
        order.lines  # noqa: B018 (load them)
        db.session.remove()
    return order


def line_ids(order: Order) -> dict[str, int]:
    return {line.sku: line.id for line in order.lines}


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def shop_and_avarda(stack: Stack, number: str) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    order = order_of(stack, number)
    avarda = stack.purchase(order.purchase_id)
    names = ("Delivered", "Returned", "Refunded", "Released")
    shop = {n: Decimal(getattr(order, f"{n.lower()}_minor")) / 100 for n in names}
    return {n: money(v) for n, v in shop.items()}, {n: money(avarda[f"{n}Amount"]) for n in names}


def assert_agree(stack: Stack, number: str) -> dict[str, Decimal]:
    shop, avarda = shop_and_avarda(stack, number)
    assert shop == avarda
    return shop


def actions(stack: Stack, number: str) -> list[tuple[str, str, int]]:
    with stack.shop_app.app_context():
        rows = db.session.execute(
            sa.select(CommerceAction.kind, CommerceAction.status, CommerceAction.attempts)
            .join(Order)
            .where(Order.number == number)
            .order_by(CommerceAction.id)
        ).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def emails(stack: Stack, number: str) -> list[str]:
    with stack.shop_app.app_context():
        kinds = db.session.scalars(
            sa.select(OutboxEmail.kind).join(Order).where(Order.number == number)
            .order_by(OutboxEmail.id)
        ).all()  # fmt: skip
        db.session.remove()
    return [k.split("-")[0] for k in kinds]


def test_deliver_in_parts_return_refund_and_the_amounts_agree(stack, office):
    order = paid_order(stack, ("MUG-01", 2), ("BOOK-01", 1))
    number, ids = order.number, line_ids(order)
    mug_stock = stack.stock("MUG-01")

    first = office.act(number, "deliver", **{f"qty_{ids['BOOK-01']}": 0, f"qty_{ids['MUG-01']}": 1},
                       tracking_code="TRACK-1")  # fmt: skip
    assert assert_agree(stack, number)["Delivered"] == Decimal("149.00")
    page = words(office.follow(first))
    assert "Deliver (PurchaseOrder): Accepted by Avarda" in page

    office.act(number, "deliver")  # the form as rendered: every line not yet delivered
    assert assert_agree(stack, number)["Delivered"] == Decimal("627.00")
    assert stack.purchase(order.purchase_id)["RemainingAmount"] in ("0.00", 0, "0")

    office.act(number, "return", **{f"qty_{ids['MUG-01']}": 1})
    amounts = assert_agree(stack, number)
    assert amounts["Returned"] == Decimal("149.00")
    assert stack.stock("MUG-01") == mug_stock + 1

    assert office.act(number, "refund", amount="10.00").status_code == 303
    assert assert_agree(stack, number)["Refunded"] == Decimal("10.00")

    assert [a[:2] for a in actions(stack, number)] == [
        ("deliver", "applied"), ("deliver", "applied"), ("return", "applied"),
        ("refund", "applied"),
    ]  # fmt: skip
    assert emails(stack, number) == [
        "order_confirmation", "delivered", "delivered", "returned", "refunded",
    ]  # fmt: skip
    customer = words(stack.order_page(order.token))
    assert "TRACK-1" in customer and "10,00 kr" in customer
    status = stack.status(order.token)
    assert status["state"] == "paid" and status["delivered_minor"] == 62700


def test_close_the_rest_after_a_part_delivery(stack, office):
    order = paid_order(stack, ("MUG-01", 1), ("LAMP-01", 1))
    ids, lamp_stock = line_ids(order), stack.stock("LAMP-01")
    office.act(order.number, "deliver", **{f"qty_{ids['LAMP-01']}": 0})
    office.act(order.number, "close")
    amounts = assert_agree(stack, order.number)
    assert amounts["Released"] == Decimal("599.00") and amounts["Delivered"] == Decimal("149.00")
    assert stack.stock("LAMP-01") == lamp_stock + 1
    page = words(office.page(order.number))
    assert "Close the rest" not in page.split("Calls to Avarda")[0].split("Act on this order")[1]
    assert "/deliver" not in office.page(order.number)


def test_cancel_makes_the_order_cancelled_everywhere(stack, office):
    order = paid_order(stack, ("SOCKS-01", 2))
    stock = stack.stock("SOCKS-01")
    response = office.act(order.number, "cancel", reason="Customer changed their mind")
    assert response.status_code == 303
    assert stack.purchase(order.purchase_id)["State"] == 8
    assert stack.status(order.token)["state"] == "cancelled"
    assert stack.stock("SOCKS-01") == stock + 2
    assert emails(stack, order.number) == ["order_confirmation", "cancelled"]
    assert "was cancelled" in words(stack.order_page(order.token))
    # A late callback or check changes nothing: the order stays cancelled.
    office.post(order.number, "check", office.form(order.number, "check"))
    assert stack.status(order.token)["state"] == "cancelled"


def test_a_second_submission_of_the_same_form_does_nothing_more(stack, office):
    order = paid_order(stack, ("MUG-01", 2))
    fields = office.form(order.number, "deliver")
    first = office.post(order.number, "deliver", fields)
    again = office.post(order.number, "deliver", fields)
    assert first.headers["Location"] == again.headers["Location"]
    assert actions(stack, order.number) == [("deliver", "applied", 1)]
    assert assert_agree(stack, order.number)["Delivered"] == Decimal("298.00")

    refund = office.form(order.number, "refund") | {"amount": "5"}
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(
            office.post(order.number, "refund", refund).status_code))
        for _ in range(4)
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [303] * 4
    assert [a[:2] for a in actions(stack, order.number)] == [
        ("deliver", "applied"), ("refund", "applied")
    ]  # fmt: skip
    assert assert_agree(stack, order.number)["Refunded"] == Decimal("5.00")


def avarda(stack: Stack) -> AvardaClient:
    """Another system of the merchant, talking to Avarda behind the shop's back."""
    return AvardaClient(stack.avarda_url, *stack.site_auth)


def test_avarda_refuses_a_cancel_after_a_delivery_the_shop_did_not_make(stack, office):
    order = paid_order(stack, ("MUG-01", 1))
    avarda(stack).purchase_order(
        order.purchase_id, order_reference=order.number, tran_id=new_tran_id(),
        items=[Item(description="Mug", amount=Decimal("149.00"), tax_code="25",
                    tax_amount=Decimal("29.80"))],
    )  # fmt: skip
    response = office.act(order.number, "cancel", reason="Out of stock")
    page = words(office.follow(response))
    assert "Cancel (CancelPayment): Refused by Avarda" in page
    assert "CancelAuthorization denied" in page and "Nothing changed in the shop" in page
    assert "Avarda refused" in page  # the needs-attention reason
    assert stack.status(order.token)["state"] == "paid"
    assert actions(stack, order.number) == [("cancel", "refused", 1)]
    assert emails(stack, order.number) == ["order_confirmation"]


def test_avarda_refuses_a_refund_above_what_it_holds_as_delivered(stack, office):
    order = paid_order(stack, ("MUG-01", 2))
    office.act(order.number, "deliver")
    avarda(stack).return_order(
        order.purchase_id, order_reference=order.number, tran_id=new_tran_id(),
        items=[Item(description="Mug", amount=Decimal("149.00"), tax_code="25",
                    tax_amount=Decimal("29.80"))],
    )  # fmt: skip
    # The shop believes 298.00 is refundable; Avarda holds 149.00.
    response = office.act(order.number, "refund", amount="298.00")
    shop, theirs = shop_and_avarda(stack, order.number)
    assert shop["Refunded"] == theirs["Refunded"] == 0
    assert actions(stack, order.number)[-1] == ("refund", "refused", 1)
    assert "Refund (Refund): Refused by Avarda" in words(office.follow(response))


def test_the_shop_refuses_by_itself_what_its_records_forbid(stack, office):
    order = paid_order(stack, ("MUG-01", 1))
    too_much = office.act(order.number, "deliver", **{f"qty_{order.lines[0].id}": 5})
    assert too_much.status_code == 400
    assert "more than the 1 that can be moved" in words(too_much.text)
    no_refund = office.post(order.number, "refund",
                            office.form(order.number, "deliver") | {"amount": "1.00"})  # fmt: skip
    assert no_refund.status_code == 400
    assert "more than what was delivered" in words(no_refund.text)
    bad = office.post(order.number, "refund", office.form(order.number, "check") | {"amount": "x"})
    assert bad.status_code == 400 and "at most two decimals" in words(bad.text)
    no_csrf = office.post(order.number, "deliver", {"qty-1": "1"})
    assert no_csrf.status_code == 400
    assert actions(stack, order.number) == []
    assert assert_agree(stack, order.number)["Delivered"] == 0


class Proxy:
    """Avarda for the shop, through a door the test controls: each request is forwarded
    to the sandbox, and while ``hold`` is set the answer is kept back past the shop's
    timeout (Avarda applied the call; the shop hears nothing)."""

    def __init__(self) -> None:
        self.target = ""
        self.hold = threading.Event()
        self.release = threading.Event()

    @Request.application
    def __call__(self, request: Request) -> Response:
        upstream = requests.post(
            self.target + request.full_path.rstrip("?"), data=request.get_data(),
            headers={"Content-Type": "application/json",
                     "Authorization": request.headers.get("Authorization", "")},
            timeout=10,
        )  # fmt: skip
        if self.hold.is_set():
            self.release.wait(10)
        return Response(upstream.content, upstream.status_code)


@pytest.fixture
def proxied(tmp_path) -> Iterator[tuple[Stack, Proxy]]:
    """A stack of its own whose shop reaches Avarda through a :class:`Proxy`, with a
    1-second timeout for Commerce calls."""
    proxy = Proxy()
    with serve_wsgi(proxy) as proxy_url:
        stack = Stack.create(
            tmp_path / "proxied",
            AVARDA_BASE_URL=proxy_url + "/CheckOut2",
            AVARDA_TIMEOUT=1.0,
            RECONCILE_MIN_AGE=0.0,
            SANDBOX_MERCHANTS=[{"site_code": SITE_CODE, "retry_schedule_ms": [0, 5, 10]}],
        )
        proxy.target = stack.sandbox_url
        try:
            stack.setup().start("shop", "sandbox")
            yield stack, proxy
        finally:
            proxy.release.set()
            stack.close()


def retry_fields(office: BackOffice, number: str) -> tuple[str, dict[str, str]]:
    action_id = re.search(r"/actions/(\d+)/retry", office.page(number))
    assert action_id, "the order page offers a retry"
    path = f"actions/{action_id.group(1)}/retry"
    return path, office.form(number, path)


def test_no_answer_leaves_the_action_unconfirmed_and_the_retry_applies_it_once(proxied):
    stack, proxy = proxied
    office = BackOffice(stack)
    order = paid_order(stack, ("MUG-01", 2))

    proxy.hold.set()
    silent = office.act(order.number, "deliver")
    assert actions(stack, order.number) == [("deliver", "unknown", 1)]
    assert "Unconfirmed" in words(office.follow(silent))
    shop, theirs = shop_and_avarda(stack, order.number)
    assert shop["Delivered"] == 0 and theirs["Delivered"] == Decimal("298.00")  # Avarda did it
    page = words(office.page(order.number))
    assert "it may or may not have been applied" in page and "Avarda call unconfirmed" in page
    assert f"/admin/orders/{order.number}/deliver" not in office.page(order.number)  # it waits

    proxy.hold.clear()
    proxy.release.set()
    path, fields = retry_fields(office, order.number)
    assert office.post(order.number, path, fields).status_code == 303
    assert actions(stack, order.number) == [("deliver", "applied", 2)]
    assert assert_agree(stack, order.number)["Delivered"] == Decimal("298.00")  # once
    history = words(office.page(order.number)).split("Calls to Avarda after payment")[1]
    assert "no answer (AvardaTimeout" in history and ADMIN_EMAIL + ": accepted" in history
    again = office.post(order.number, path, fields)
    assert again.status_code == 409 and "nothing to retry" in words(again.text)


def test_avarda_unreachable_then_back(stack, office):
    order = paid_order(stack, ("MUG-01", 1))
    stack.stop("sandbox")  # nothing listens on Avarda's port any more
    try:
        office.act(order.number, "deliver")
        assert actions(stack, order.number) == [("deliver", "unknown", 1)]
        page = words(office.page(order.number))
        assert "Avarda could not be reached, so nothing was sent" in page
    finally:
        stack.start("sandbox")
    assert assert_agree(stack, order.number)["Delivered"] == 0

    path, fields = retry_fields(office, order.number)
    office.post(order.number, path, fields)
    assert actions(stack, order.number) == [("deliver", "applied", 2)]
    assert assert_agree(stack, order.number)["Delivered"] == Decimal("149.00")


def test_check_with_avarda_confirms_a_pending_order_as_admin(stack, office):
    session = stack.checkout(("MUG-01", 1))
    stack.complete(session.purchase_id, "Invoice", callback=False)
    assert stack.status(session.order_token)["state"] == "pending"
    response = office.post(session.order_number, "check",
                           office.form(session.order_number, "check"))  # fmt: skip
    assert response.status_code == 200
    page = words(response.text)
    assert "Avarda's answer now" in page and "Completed" in page and "(was pending)" in page
    status = stack.status(session.order_token)
    assert (status["state"], status["confirmed_by"]) == ("paid", "admin")


def test_resend_the_confirmation_email(stack, office):
    order = paid_order(stack, ("MUG-01", 1))
    with stack.shop_app.app_context():
        db.session.execute(sa.update(OutboxEmail).values(sent_at=sa.func.now(),
                                                         next_attempt_at=None))  # fmt: skip
        db.session.commit()
        db.session.remove()
    fields = office.form(order.number, "resend-confirmation")
    assert office.post(order.number, "resend-confirmation", fields).status_code == 303
    assert office.post(order.number, "resend-confirmation", fields).status_code == 303
    with stack.shop_app.app_context():
        mail = db.session.scalars(sa.select(OutboxEmail)).one()
        assert mail.sent_at is None and mail.next_attempt_at is not None
        db.session.remove()
    assert "email_resent" in office.page(order.number)


def test_stock_never_changes_for_a_refused_action(stack, office):
    order = paid_order(stack, ("MUG-01", 1))
    before = stack.stock("MUG-01")
    avarda(stack).cancel_payment(order.purchase_id, reason="elsewhere")
    office.act(order.number, "deliver")
    assert actions(stack, order.number) == [("deliver", "refused", 1)]
    with stack.shop_app.app_context():
        assert db.session.scalar(sa.select(Product.stock).where(Product.sku == "MUG-01")) == before
        db.session.remove()
