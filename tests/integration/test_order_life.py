"""A Hypothesis stateful test of an order's life against the real sandbox and the shop
under gunicorn (issue 10): Avarda completes, fails or times out purchases, or leaves
them waiting at a card step; callbacks arrive duplicated and late; browsers return; the
sweep runs; the shop is killed and restarted. After every step:

- no order is paid more than once, and none moves back from a final state;
- an order is paid only if Avarda says Completed, with the order's amount;
- the stock fell by exactly the quantities of the paid orders (a cancellation puts it
  back);
- Avarda's delivered, returned and refunded amounts equal the shop's, and a cancelled
  order's purchase is cancelled at Avarda;
- no answer is a 5xx other than the callback's documented 503 ("not yet, retry").

The back office delivers, refunds and cancels (its Commerce actions, as its forms run
them), and after each step Avarda's amounts (delivered, returned, refunded; cancelled)
equal the shop's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.harness import SITE_CODE, Stack

pytestmark = pytest.mark.timeout(900)

FINAL = {"paid", "on_hold", "cancelled"}


@dataclass
class Known:
    token: str
    quantity: int
    total_minor: int
    seen: str = "pending"


@pytest.fixture
def life_stack(tmp_path) -> Iterator[Stack]:
    stack = Stack.create(
        tmp_path,
        RECONCILE_MIN_AGE=0,
        SANDBOX_MERCHANTS=[{"site_code": SITE_CODE, "callback_enabled": False}],
    )
    try:
        stack.setup()
        stack.start("shop", "sandbox")
        yield stack
    finally:
        stack.close()


def shop_facts(stack: Stack, token: str) -> tuple[str, int]:
    from shop.extensions import db
    from shop.models import Order, OrderEvent

    def read() -> tuple[str, int]:
        order = db.session.scalars(sa.select(Order).where(Order.token == token)).one()
        paid = db.session.scalar(
            sa.select(sa.func.count(OrderEvent.id)).where(
                OrderEvent.order_id == order.id, OrderEvent.outcome == "paid"
            )
        )
        return str(order.state), int(paid or 0)

    return stack.query(read)


def mug_stock(stack: Stack) -> int:
    return stack.stock("MUG-01")


class OrderLife(RuleBasedStateMachine):
    stack: Stack
    #: Back-office actions Avarda applied, over all runs (the test checks there were some).
    applied = 0

    purchases = Bundle("purchases")

    def __init__(self) -> None:
        super().__init__()
        self.known: dict[str, Known] = {}
        self.stock_before = mug_stock(self.stack)
        self.verified: set[str] = set()
        self.acted: set[str] = set()
        self.restarts = 0

    @rule(target=purchases, quantity=st.integers(1, 2))
    def checkout(self, quantity: int) -> str:
        session = self.stack.checkout(("MUG-01", quantity))
        facts = self.stack.facts(session.order_token)
        total = self.stack.status(session.order_token)["total_minor"]
        assert facts["state"] == "pending"
        self.known[session.purchase_id] = Known(session.order_token, quantity, total)
        return session.purchase_id

    @rule(purchase=purchases, how=st.sampled_from(["Invoice", "Invoice", "Fail", "wait", "expire"]))
    def avarda(self, purchase: str, how: str) -> None:
        if self.stack.purchase(purchase)["State"] not in (0, 1):
            return  # Avarda already decided
        if how == "expire":
            self.stack.sandbox_api("POST", f"Purchases/{purchase}/Expire")
        elif how == "wait":
            self.stack.complete(purchase, "Card", callback=False, Step="wait")
        else:
            self.stack.complete(purchase, how, callback=False)

    @rule(purchase=purchases, copies=st.integers(1, 3))
    def callback(self, purchase: str, copies: int) -> None:
        for _ in range(copies):
            response = requests.post(
                self.stack.callback_url,
                json={"purchaseId": purchase},
                auth=self.stack.callback_auth,
                timeout=30,
            )
            assert response.status_code in {200, 503}, response.text

    @rule(purchase=purchases)
    def browser_returns(self, purchase: str) -> None:
        assert self.stack.done(purchase).status_code == 200

    @rule()
    def sweep(self) -> None:
        from shop.extensions import avarda_client, db
        from shop.orders.sweep import sweep

        def run() -> None:
            sweep(db.session(), avarda_client(), min_age=0, shop_url=self.stack.shop_url)

        self.stack.query(run)

    @rule(purchase=purchases, what=st.sampled_from(["deliver", "refund", "cancel"]))
    def back_office(self, purchase: str, what: str) -> None:
        from shop.extensions import avarda_client, db
        from shop.models import CommerceKind, Order
        from shop.orders.commerce import ActionNotAllowed, ActionRequest, run_action

        def act() -> None:
            order = db.session.scalars(sa.select(Order).where(Order.purchase_id == purchase)).one()
            if what == "deliver":
                wanted = ActionRequest(
                    CommerceKind.DELIVER,
                    quantities={
                        line.id: line.undelivered_quantity
                        for line in order.lines
                        if line.undelivered_quantity
                    },
                )
            elif what == "refund":
                wanted = ActionRequest(
                    CommerceKind.REFUND, amount_minor=max(order.refundable_minor // 2, 1)
                )
            else:
                wanted = ActionRequest(CommerceKind.CANCEL, reason="The customer changed mind")
            try:
                run_action(
                    db.session(),
                    avarda_client(),
                    order.number,
                    wanted,
                    admin_id=None,
                    shop_url=self.stack.shop_url,
                )
            except ActionNotAllowed:
                return  # the shop's own records forbid it: nothing written, nobody asked
            self.acted.add(purchase)
            OrderLife.applied += 1

        self.stack.query(act)

    @precondition(lambda self: self.restarts < 1)  # seconds each: one per run is plenty
    @rule()
    def restart(self) -> None:
        self.restarts += 1
        self.stack.kill("shop")
        self.stack.start("shop")

    @invariant()
    def paid_once_only_on_avardas_word_and_never_back(self) -> None:
        paid_quantity = 0
        for purchase, known in self.known.items():
            state, paid_events = shop_facts(self.stack, known.token)
            assert paid_events <= 1
            assert not (known.seen in FINAL and state != known.seen and state == "pending")
            if known.seen == "paid":
                assert state in {"paid", "cancelled"}
            known.seen = state
            if state == "paid":
                paid_quantity += known.quantity
                if purchase not in self.verified:
                    avarda = self.stack.purchase(purchase)
                    assert avarda["State"] == 2
                    assert round(float(avarda["AuthorizedAmount"]) * 100) == known.total_minor
                    self.verified.add(purchase)
        assert mug_stock(self.stack) == self.stock_before - paid_quantity
        for purchase in self.acted:
            self.same_amounts_as_avarda(purchase)

    def same_amounts_as_avarda(self, purchase: str) -> None:
        from shop.extensions import db
        from shop.models import Order

        def read() -> tuple[str, int, int, int]:
            order = db.session.scalars(sa.select(Order).where(Order.purchase_id == purchase)).one()
            return (
                str(order.state),
                order.delivered_minor,
                order.returned_minor,
                order.refunded_minor,
            )

        state, delivered, returned, refunded = self.stack.query(read)
        avarda = self.stack.purchase(purchase)

        def minor(field: str) -> int:
            return round(float(avarda[field]) * 100)

        assert (minor("DeliveredAmount"), minor("ReturnedAmount"), minor("RefundedAmount")) == (
            delivered,
            returned,
            refunded,
        )
        assert (avarda["State"] == 8) == (state == "cancelled")


def test_the_life_of_orders_keeps_its_promises(life_stack):
    OrderLife.stack = life_stack
    OrderLife.applied = 0
    run_state_machine_as_test(
        OrderLife,
        settings=settings(
            max_examples=6,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
            derandomize=True,  # the same runs every time: CI's time and coverage are known
        ),
    )
    assert OrderLife.applied > 0  # the runs reached the back office
