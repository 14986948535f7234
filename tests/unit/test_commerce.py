"""The Commerce actions' core (``shop.orders.commerce``) against a fake Avarda, on SQLite
and PostgreSQL: what the shop refuses by itself, the TranId committed before the call,
outcomes recorded after it, retries that send the same TranId, concurrent retries that
call Avarda once, and what an applied action moves (amounts, quantities, stock, state,
e-mail, events). The real sandbox over HTTP is in tests/integration/."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from common.db import utcnow
from shop.avarda import (
    AvardaCommerceRefused,
    AvardaNotSent,
    AvardaTimeout,
    CommerceErrorDetail,
)
from shop.catalog import get_product_by_sku
from shop.extensions import db, set_avarda_client
from shop.models import (
    CommerceAction,
    CommerceKind,
    ConfirmPath,
    Order,
    OrderEvent,
    OutboxEmail,
    Product,
)
from shop.orders.checkout import CheckoutSession, begin_checkout
from shop.orders.commerce import (
    ActionNotAllowed,
    ActionRequest,
    Refusal,
    parse_amount,
    request_action,
    retry_action,
    run_action,
)
from shop.orders.confirm import ConfirmResult, confirm_purchase
from tests.unit.fakes import FakeAvarda

SHOP_URL = "https://shop.example"


class CommerceFake(FakeAvarda):
    """The fake Avarda with Commerce calls: ``fail`` holds exceptions to raise, one per
    call, and ``before_call`` runs inside each call (to look at the database then)."""

    def __init__(self) -> None:
        super().__init__()
        self.commerce: list[tuple[str, dict[str, Any]]] = []
        self.fail: list[Exception] = []
        self.before_call: Any = None
        self.applied: set[str] = set()

    def _commerce(self, name: str, **body: Any) -> None:
        if self.before_call:
            self.before_call(name, body)
        self._log(name, body)
        with self._lock:
            self.commerce.append((name, body))
            error = self.fail.pop(0) if self.fail else None
        if isinstance(error, AvardaTimeout):
            self.applied.add(body.get("tran_id") or name)  # it arrived; the answer did not
        if error is not None:
            raise error
        self.applied.add(body.get("tran_id") or name)
        if name == "CancelPayment":
            self.purchases[body["purchase_id"]]["State"] = 8

    def purchase_order(self, purchase_id: str, **kw: Any) -> None:
        self._commerce("PurchaseOrder", purchase_id=purchase_id, **kw)

    def return_order(self, purchase_id: str, **kw: Any) -> None:
        self._commerce("ReturnOrder", purchase_id=purchase_id, **kw)

    def refund(self, purchase_id: str, **kw: Any) -> None:
        self._commerce("Refund", purchase_id=purchase_id, **kw)

    def refund_remaining(self, purchase_id: str, **kw: Any) -> None:
        self._commerce("RefundRemaining", purchase_id=purchase_id, **kw)

    def cancel_payment(self, purchase_id: str, **kw: Any) -> None:
        self._commerce("CancelPayment", purchase_id=purchase_id, **kw)


@pytest.fixture
def fake(shop) -> CommerceFake:
    app, _ = shop
    client = CommerceFake()
    set_avarda_client(app, client)
    return client


def start(fake: CommerceFake, *lines: tuple[str, int]) -> CheckoutSession:
    ids = [(get_product_by_sku(db.session(), sku).id, qty) for sku, qty in lines]
    return begin_checkout(db.session(), fake, ids, None)


def confirm(fake: CommerceFake, purchase_id: str) -> ConfirmResult:
    return confirm_purchase(
        db.session(), fake, purchase_id, ConfirmPath.CALLBACK, shop_url=SHOP_URL
    )


def paid(fake: CommerceFake, *lines: tuple[str, int]) -> Order:
    session = start(fake, *(lines or [("MUG-01", 2)]))
    fake.complete(session.purchase_id)
    result = confirm(fake, session.purchase_id)
    assert result.order is not None and result.order.state == "paid"
    return fresh(result.order.number)


def fresh(number: str) -> Order:
    db.session.expire_all()
    return db.session.scalars(sa.select(Order).where(Order.number == number)).one()


def admin_id() -> int:
    return db.session.scalar(sa.text("SELECT id FROM admin_user"))


def run(fake: CommerceFake, order: Order, wanted: ActionRequest) -> CommerceAction:
    return run_action(
        db.session(), fake, order.number, wanted, admin_id=admin_id(), shop_url=SHOP_URL
    ).action


def deliver_all(order: Order, **kw: Any) -> ActionRequest:
    return ActionRequest(
        CommerceKind.DELIVER, quantities={line.id: line.quantity for line in order.lines}, **kw
    )


def stock(sku: str) -> int:
    return db.session.scalar(sa.select(Product.stock).where(Product.sku == sku))


@pytest.mark.parametrize(
    "text, minor",
    [("10.00", 1000), ("10", 1000), ("10,5", 1050), (" 1 234,56 ", 123456), ("0.01", 1)],
)
def test_amounts_in_the_shops_currency(text, minor):
    assert parse_amount(text) == minor


@pytest.mark.parametrize("text", ["", "x", "0", "-1", "1.001", "nan", "inf", "1e3x", "1e12"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(ActionNotAllowed) as caught:
        parse_amount(text)
    assert caught.value.refusal is Refusal.BAD_AMOUNT


def test_the_tran_id_is_committed_before_the_call_and_no_transaction_is_open(shop, fake):
    order = paid(fake)
    seen: list[tuple[str, str, bool]] = []

    def look(name: str, body: dict[str, Any]) -> None:
        with db.engine.connect() as other:  # another connection sees only what is committed
            status = other.execute(
                sa.select(CommerceAction.status).where(CommerceAction.tran_id == body["tran_id"])
            ).scalar_one()
        seen.append((name, status, db.session().in_transaction()))

    fake.before_call = look
    action = run(fake, order, deliver_all(order, tracking_code=" 1Z 999 "))
    assert seen == [("PurchaseOrder", "requested", False)]
    name, body = fake.commerce[0]
    assert body["tran_id"] == action.tran_id and len(action.tran_id) == 36
    assert body["order_reference"] == order.number and body["tracking_code"] == "1Z 999"
    [item] = body["items"]
    assert (item.amount, item.tax_code, item.tax_amount) == (
        Decimal("298.00"),
        "25",
        Decimal("59.60"),
    )
    assert item.description == "Enamel camp mug" and item.notes == "MUG-01 x 2"


def test_an_applied_delivery_moves_quantities_money_email_and_an_event(shop, fake):
    order = paid(fake, ("MUG-01", 2), ("BOOK-01", 1))
    mug, book = order.lines
    run(fake, order, ActionRequest(CommerceKind.DELIVER, quantities={mug.id: 1, book.id: 0}))
    order = fresh(order.number)
    assert [(x.delivered_quantity, x.returned_quantity) for x in order.lines] == [(1, 0), (0, 0)]
    assert order.delivered_minor == 14900 and order.open_minor == 14900 + 32900
    rest = {mug.id: 1, book.id: 1}
    run(fake, order, ActionRequest(CommerceKind.DELIVER, quantities=rest, tracking_code="T-2"))
    order = fresh(order.number)
    assert order.delivered_minor == order.total_minor and order.open_minor == 0
    mails = db.session.scalars(
        sa.select(OutboxEmail).where(OutboxEmail.order_id == order.id).order_by(OutboxEmail.id)
    ).all()
    assert [m.kind.split("-")[0] for m in mails] == ["order_confirmation", "delivered", "delivered"]
    assert "part of it is on its way" in mails[1].subject
    assert "all of it is on its way" in mails[2].subject
    assert "1 x Payments, plainly  329.00 SEK" in mails[2].body
    assert (
        "Tracking code: T-2" in mails[2].body
        and f"{SHOP_URL}/orders/{order.token}" in mails[2].body
    )
    events = db.session.scalars(
        sa.select(OrderEvent).where(
            OrderEvent.order_id == order.id, OrderEvent.action_id.is_not(None)
        )
    ).all()
    assert [(e.path, e.outcome, e.admin_id) for e in events] == [
        ("admin", "deliver_applied", admin_id()),
        ("admin", "deliver_applied", admin_id()),
    ]


def test_what_the_shop_refuses_by_itself(shop, fake):
    order = paid(fake, ("MUG-01", 2))
    line = order.lines[0]

    def refused(wanted: ActionRequest) -> Refusal:
        with pytest.raises(ActionNotAllowed) as caught:
            request_action(db.session(), order.number, wanted, admin_id=None)
        return caught.value.refusal

    assert refused(ActionRequest(CommerceKind.DELIVER, quantities={line.id: 3})) is Refusal.TOO_MANY
    assert refused(ActionRequest(CommerceKind.DELIVER, quantities={line.id: 0})) is (
        Refusal.NOTHING_CHOSEN
    )
    assert refused(ActionRequest(CommerceKind.DELIVER, quantities={999: 1})) is Refusal.UNKNOWN_LINE
    assert refused(ActionRequest(CommerceKind.RETURN, quantities={line.id: 1})) is Refusal.TOO_MANY
    assert refused(ActionRequest(CommerceKind.REFUND, amount_minor=1)) is Refusal.AMOUNT_TOO_LARGE
    assert refused(ActionRequest(CommerceKind.CLOSE)) is Refusal.NOTHING_DELIVERED
    assert refused(ActionRequest(CommerceKind.CANCEL, reason="  ")) is Refusal.REASON_REQUIRED
    assert refused(ActionRequest(CommerceKind.CANCEL, reason="x" * 201)) is Refusal.TOO_LONG
    run(fake, order, ActionRequest(CommerceKind.DELIVER, quantities={line.id: 1}))
    assert refused(ActionRequest(CommerceKind.CANCEL, reason="late")) is Refusal.ALREADY_DELIVERED
    assert refused(ActionRequest(CommerceKind.REFUND, amount_minor=14901)) is (
        Refusal.AMOUNT_TOO_LARGE
    )
    pending = start(fake, ("MUG-01", 1))
    with pytest.raises(ActionNotAllowed) as caught:
        request_action(
            db.session(), pending.order_number, ActionRequest(CommerceKind.REFUND, amount_minor=1),
            admin_id=None,
        )  # fmt: skip
    assert caught.value.refusal is Refusal.NOT_PAID
    assert db.session.scalar(sa.select(sa.func.count(CommerceAction.id))) == 1
    assert len(fake.commerce) == 1


def test_on_hold_orders_can_be_cancelled_but_not_delivered_and_keep_their_stock(shop, fake):
    session = start(fake, ("MUG-01", 1))
    fake.complete(session.purchase_id, price=Decimal("1.00"))  # amount mismatch: on hold
    assert confirm(fake, session.purchase_id).order.state == "on_hold"
    order, before = fresh(session.order_number), stock("MUG-01")
    with pytest.raises(ActionNotAllowed) as caught:
        request_action(db.session(), order.number, deliver_all(order), admin_id=None)
    assert caught.value.refusal is Refusal.ON_HOLD
    run(fake, order, ActionRequest(CommerceKind.CANCEL, reason="Price mismatch"))
    order = fresh(order.number)
    assert order.state == "cancelled" and order.cancel_reason == "Price mismatch"
    assert stock("MUG-01") == before  # an order on hold never took stock


def test_cancel_and_close_give_stock_back(shop, fake):
    order, before = paid(fake, ("SOCKS-01", 2)), stock("SOCKS-01")
    run(fake, order, ActionRequest(CommerceKind.CANCEL, reason="Customer asked"))
    assert stock("SOCKS-01") == before + 2 and fresh(order.number).state == "cancelled"

    order, before = paid(fake, ("LAMP-01", 3)), stock("LAMP-01")
    run(fake, order, ActionRequest(CommerceKind.DELIVER, quantities={order.lines[0].id: 1}))
    run(fake, order, ActionRequest(CommerceKind.CLOSE))
    order = fresh(order.number)
    assert stock("LAMP-01") == before + 2
    assert order.released_minor == 2 * 59900 and order.closed_at is not None
    assert order.open_minor == 0
    assert fake.commerce[-1][0] == "RefundRemaining"


def test_a_refusal_keeps_avardas_words_and_changes_nothing(shop, fake):
    order, before = paid(fake), stock("MUG-01")
    fake.fail = [
        AvardaCommerceRefused(
            "refused", [CommerceErrorDetail("14100", "Return denied - insufficient Balance")]
        )
    ]
    action = run(fake, order, ActionRequest(CommerceKind.CANCEL, reason="x"))
    assert (action.status, action.error_code) == ("refused", "14100")
    assert action.error_message == "Return denied - insufficient Balance"
    order = fresh(order.number)
    assert order.state == "paid" and stock("MUG-01") == before
    event = db.session.scalars(sa.select(OrderEvent).where(OrderEvent.action_id == action.id)).one()
    assert event.outcome == "cancel_refused" and "14100" in event.detail
    assert event.admin_id == admin_id()
    # A refusal settles the action: the next one may go.
    assert run(fake, order, deliver_all(order)).status == "applied"


def test_no_answer_then_a_retry_with_the_same_tran_id_applies_once(shop, fake):
    order = paid(fake)
    fake.fail = [AvardaTimeout("PurchaseOrder: Avarda did not answer in time")]
    action = run(fake, order, deliver_all(order))
    assert action.status == "unknown" and action.error_code == "AvardaTimeout"
    assert fresh(order.number).delivered_minor == 0
    with pytest.raises(ActionNotAllowed) as caught:  # the order waits for this one
        request_action(db.session(), order.number, deliver_all(order), admin_id=None)
    assert caught.value.refusal is Refusal.BUSY

    again = retry_action(
        db.session(), fake, action.id, number=order.number, admin_id=admin_id(), shop_url=SHOP_URL
    )
    assert (again.status, again.attempts) == ("applied", 2)
    assert [body["tran_id"] for _, body in fake.commerce] == [action.tran_id] * 2
    order = fresh(order.number)
    assert order.delivered_minor == order.total_minor and order.lines[0].delivered_quantity == 2
    with pytest.raises(ActionNotAllowed) as caught:
        retry_action(
            db.session(), fake, action.id, number=order.number, admin_id=None, shop_url=SHOP_URL
        )
    assert caught.value.refusal is Refusal.NOT_RETRYABLE
    outcomes = db.session.scalars(
        sa.select(OrderEvent.outcome)
        .where(OrderEvent.action_id == action.id)
        .order_by(OrderEvent.id)
    ).all()
    assert outcomes == ["deliver_unknown", "deliver_applied"]


def test_not_sent_is_unconfirmed_too_and_says_so(shop, fake):
    order = paid(fake)
    run(fake, order, deliver_all(order))  # applied
    fake.fail = [AvardaNotSent("Refund: cannot reach Avarda (ConnectionError)")]
    action = run(fake, order, ActionRequest(CommerceKind.REFUND, amount_minor=500))
    assert (action.status, action.error_code) == ("unknown", "not_sent")


def test_concurrent_retries_call_avarda_once(shop, fake):
    app, _ = shop
    order = paid(fake)
    fake.fail = [AvardaTimeout("timeout")]
    action = run(fake, order, deliver_all(order))
    inside = threading.Event()
    go_on = threading.Event()

    def slow(name: str, body: dict[str, Any]) -> None:
        inside.set()
        go_on.wait(10)

    fake.before_call = slow
    results: list[str] = []

    def retry() -> None:
        with app.app_context():
            try:
                done = retry_action(
                    db.session(), fake, action.id, number=order.number, admin_id=None,
                    shop_url=SHOP_URL,
                )  # fmt: skip
                results.append(done.status)
            except ActionNotAllowed as exc:
                results.append(exc.refusal.value)
            finally:
                db.session.remove()

    first = threading.Thread(target=retry)
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=retry)
    second.start()
    second.join(20)  # refused at once: the first retry holds the lease
    go_on.set()
    first.join(20)
    assert sorted(results) == ["applied", "not_retryable"]
    assert len(fake.commerce) == 2  # the first try and one retry


def test_a_requested_action_whose_lease_ran_out_may_be_retried(shop, fake):
    order = paid(fake)
    past = utcnow() - timedelta(minutes=5)
    result = request_action(
        db.session(),
        order.number,
        deliver_all(order),
        admin_id=None,
        now=past,
        lease=timedelta(seconds=30),
    )  # fmt: skip  (the process died before calling Avarda)
    action = retry_action(
        db.session(), fake, result.action.id, number=order.number, admin_id=None, shop_url=SHOP_URL
    )
    assert (action.status, action.attempts) == ("applied", 2)
    assert len(fake.commerce) == 1


def test_a_cancel_retry_asks_avarda_first(shop, fake):
    order = paid(fake)
    fake.fail = [AvardaTimeout("timeout")]  # Avarda cancelled it; the answer got lost
    action = run(fake, order, ActionRequest(CommerceKind.CANCEL, reason="x"))
    assert action.status == "unknown"
    fake.purchases[order.purchase_id]["State"] = 8
    again = retry_action(
        db.session(), fake, action.id, number=order.number, admin_id=None, shop_url=SHOP_URL
    )
    assert again.status == "applied" and fresh(order.number).state == "cancelled"
    assert [name for name, _ in fake.commerce] == ["CancelPayment"]  # not sent twice


def test_the_same_form_twice_is_one_action(shop, fake):
    order = paid(fake)
    wanted = ActionRequest(CommerceKind.REFUND, amount_minor=100, form_key="k" * 32)
    run(fake, order, deliver_all(order))
    first = run_action(db.session(), fake, order.number, wanted, admin_id=None, shop_url=SHOP_URL)
    second = run_action(db.session(), fake, order.number, wanted, admin_id=None, shop_url=SHOP_URL)
    assert first.new and not second.new and first.action.id == second.action.id
    assert [name for name, _ in fake.commerce] == ["PurchaseOrder", "Refund"]
    assert fresh(order.number).refunded_minor == 100


def test_no_email_without_an_address(shop, fake):
    order = paid(fake)
    db.session.execute(sa.update(Order).where(Order.id == order.id).values(customer_email=None))
    db.session.commit()
    run(fake, order, deliver_all(order))
    kinds = db.session.scalars(sa.select(OutboxEmail.kind).where(OutboxEmail.order_id == order.id))
    assert list(kinds) == ["order_confirmation"]
