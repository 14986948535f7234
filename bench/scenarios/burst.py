"""Scenario 3: a sale burst. :data:`PURCHASES` purchases complete within seconds, each
with its server callback (sent by the delivery worker) and a done-page hit (the
customer's browser), on a warm shop.

Measured: the time from the first completion until every order is paid (target
< 30 s), the delivery worker's rate, the peak resident memory of each shop worker, the
errors (a failed completion or done page, a callback answered other than 2xx, a delivery
not delivered) and the double transitions (an order with more than one "paid" event),
both of which must be zero. The chart shows completions and payments over time.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import sqlalchemy as sa

from bench import charts
from bench.env import BenchEnv, children, peak_rss_mb
from bench.options import Options
from bench.report import Row, Section
from tests.harness import wait_until

#: Customers acting at once: each completes its purchase, then opens the done page.
CUSTOMERS = 16
TARGET_SECONDS = 30
WARMUP = 12


def run(env: BenchEnv, options: Options) -> Section:
    n = options.scale(1000, 150)
    env.stack.start("shop", "sandbox", "delivery")
    env.stock_up()
    warm = env.new_orders(WARMUP)
    for pid in warm:
        env.stack.complete(pid, callback=True)
        env.stack.done(pid)
    ids = env.new_orders(n)
    _wait(lambda: env.paid_count(warm) == WARMUP and _undelivered(env, warm) == 0, 60)

    failures: Counter[str] = Counter()

    def customer(pid: str) -> None:
        try:
            env.stack.complete(pid, callback=True)
        except Exception:  # noqa: BLE001 - counted, shown in the table
            failures["completion"] += 1
            return
        try:
            if env.stack.done(pid).status_code != 200:
                failures["done page"] += 1
        except Exception:  # noqa: BLE001
            failures["done page"] += 1

    start = datetime.now(UTC)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(CUSTOMERS) as pool:
        list(pool.map(customer, ids))
    completing = time.perf_counter() - t0
    all_paid = _wait(lambda: env.paid_count(ids) == n, 120)
    _wait(lambda: _undelivered(env, ids) == 0, 120)
    shop_pid = env.stack.procs["shop"].proc.pid  # type: ignore[union-attr]
    rss = sorted(peak_rss_mb(pid) for pid in children(shop_pid))
    env.stack.stop_all()

    completed = env.completed_at(ids)
    confirmed = env.confirmations(ids)
    paid_after = [(at - start).total_seconds() for at, _by in confirmed.values()]
    completed_after = [(at - start).total_seconds() for at in completed.values()]
    last_paid = max(paid_after, default=float("nan"))
    deliveries = _deliveries(env, ids)
    rate = _delivery_rate(deliveries)
    bad_callbacks = _bad_callbacks(env, ids)
    doubles = _double_transitions(env, ids)
    paths = Counter(by for _at, by in confirmed.values())
    failed_deliveries = sum(1 for status, _a, _b in deliveries if status != "delivered")
    errors = sum(failures.values()) + bad_callbacks + failed_deliveries

    scenario = f"3. Sale burst ({n} purchases)"
    section = Section("3. Sale burst")
    section.rows += [
        Row(scenario, "completions took (s)", f"{completing:.1f}"),
        Row(
            scenario,
            "all paid after (s)",
            f"{last_paid:.1f}" if all_paid else f"not all: {len(confirmed)} / {n}",
            target=f"< {TARGET_SECONDS}",
            met=all_paid and last_paid < TARGET_SECONDS,
        ),
        Row(
            scenario,
            "confirmed by",
            ", ".join(f"{k} {v}" for k, v in sorted(paths.items())),
        ),
        Row(scenario, "delivery worker (callbacks/s)", f"{rate:.0f}"),
        Row(
            scenario,
            "peak RSS per shop worker (MB)",
            ", ".join(f"{mb:.0f}" for mb in rss),
        ),
        Row(
            scenario,
            "errors",
            _errors(failures, bad_callbacks, failed_deliveries),
            target="0",
            met=errors == 0,
        ),
        Row(scenario, "double transitions", str(doubles), target="0", met=doubles == 0),
    ]
    section.notes.append(
        f"{CUSTOMERS} customers at a time each complete a purchase (Invoice, callback "
        "subscribed) and then open the done page; the delivery worker sends the callbacks. "
        "Times are from the first completion, read from the two databases."
    )
    chart = options.chart("burst")
    charts.paid_over_time(
        {"completed at Avarda": completed_after, "paid in the shop": paid_after},
        n,
        chart,
        xlabel="seconds since the burst began",
    )
    section.charts.append(chart.name)
    return section


def _wait(condition: object, timeout: float) -> bool:
    try:
        wait_until(condition, timeout=timeout, interval=0.25)  # type: ignore[arg-type]
    except AssertionError:
        return False
    return True


def _undelivered(env: BenchEnv, ids: list[str]) -> int:
    from sandbox.models import Delivery, DeliveryStatus

    [(count,)] = env.sandbox_rows(
        sa.select(sa.func.count(Delivery.id)).where(
            Delivery.purchase_id.in_(ids), Delivery.status == DeliveryStatus.PENDING
        )
    )
    return int(count)


def _deliveries(env: BenchEnv, ids: list[str]) -> list[tuple[str, datetime, datetime | None]]:
    from sandbox.models import Delivery

    rows = env.sandbox_rows(
        sa.select(Delivery.status, Delivery.created_at, Delivery.delivered_at).where(
            Delivery.purchase_id.in_(ids)
        )
    )
    return [(str(status), created, delivered) for status, created, delivered in rows]


def _delivery_rate(deliveries: list[tuple[str, datetime, datetime | None]]) -> float:
    done = [d for _s, _c, d in deliveries if d is not None]
    if len(done) < 2:
        return 0.0
    first = min(created for _s, created, _d in deliveries)
    return len(done) / max((max(done) - first).total_seconds(), 1e-3)


def _bad_callbacks(env: BenchEnv, ids: list[str]) -> int:
    from shop.models import CallbackLog

    [(count,)] = env.shop_rows(
        sa.select(sa.func.count(CallbackLog.id)).where(
            CallbackLog.purchase_id.in_(ids), CallbackLog.status >= 300
        )
    )
    return int(count)


def _double_transitions(env: BenchEnv, ids: list[str]) -> int:
    from shop.models import Order, OrderEvent

    paid_events = (
        sa.select(OrderEvent.order_id, sa.func.count(OrderEvent.id).label("paid"))
        .join(Order, Order.id == OrderEvent.order_id)
        .where(Order.purchase_id.in_(ids), OrderEvent.outcome == "paid")
        .group_by(OrderEvent.order_id)
        .subquery()
    )
    [(count,)] = env.shop_rows(sa.select(sa.func.count()).where(paid_events.c.paid > 1))
    return int(count)


def _errors(failures: Counter[str], bad_callbacks: int, failed_deliveries: int) -> str:
    parts = [f"{k} {v}" for k, v in sorted(failures.items()) if v]
    if bad_callbacks:
        parts.append(f"callbacks answered non-2xx {bad_callbacks}")
    if failed_deliveries:
        parts.append(f"deliveries not delivered {failed_deliveries}")
    return ", ".join(parts) or "0"
