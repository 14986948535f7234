"""Scenario 2: from the sandbox committing a Completed purchase to the shop committing the
paid order, by one path at a time.

- **Callback path alone**: the customer completes with the server callback subscribed;
  no done page, no sweeper. The delivery worker (the Procfile's, woken by the commit of
  the delivery, see ``sandbox.db.CommitWatch``) sends the callback, the shop asks Avarda
  and pays the order.
- **Browser path alone**: completed without the callback; the done page is requested as
  soon as the completion returns, as Avarda's ``done`` would send the browser there.

Purchases complete one after another, :data:`PACE` seconds apart (latency, not
throughput: the sale burst measures that). Each latency is the difference of the two
databases' own timestamps (one clock): the purchase's ``completed_at`` and the order's
``confirmed_at``. Target for the callback path: median < 100 ms, p99 < 500 ms.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence

from bench.env import BenchEnv
from bench.options import Options
from bench.report import Row, Section, percentile
from tests.harness import wait_until

PACE = 0.1
#: Purchases per path paid before measuring: a running shop is warm (connections open,
#: templates compiled in every gunicorn worker).
WARMUP = 12
TARGET_MEDIAN_MS = 100
TARGET_P99_MS = 500


def run(env: BenchEnv, options: Options) -> Section:
    n = options.scale(200, 40)
    env.stack.start("shop", "sandbox", "delivery")
    env.stock_up()
    ids = env.new_orders(2 * (WARMUP + n))
    by_callback, by_browser = ids[WARMUP : WARMUP + n], ids[2 * WARMUP + n :]

    def callback(pid: str) -> None:
        env.stack.complete(pid, callback=True)

    def browser(pid: str) -> None:
        env.stack.complete(pid, callback=False)
        env.stack.done(pid)

    for action, warmup, measured in (
        (callback, ids[:WARMUP], by_callback),
        (browser, ids[WARMUP + n : 2 * WARMUP + n], by_browser),
    ):
        _paced(warmup, action)
        _wait_paid(env, warmup)
        _paced(measured, action)
        _wait_paid(env, measured)
    env.stack.stop_all()

    section = Section("2. Completion to paid")
    for name, path_ids, targeted in (
        ("callback path", by_callback, True),
        ("browser path", by_browser, False),
    ):
        latencies, paths = _latencies(env, path_ids)
        median, p99 = statistics.median(latencies), percentile(latencies, 99)
        scenario = f"2. Completion to paid, {name}"
        section.rows += [
            Row(
                scenario,
                "median (ms)",
                f"{median:.0f}",
                target=f"< {TARGET_MEDIAN_MS}" if targeted else "",
                met=median < TARGET_MEDIAN_MS if targeted else None,
            ),
            Row(
                scenario,
                "p99 (ms)",
                f"{p99:.0f}",
                target=f"< {TARGET_P99_MS}" if targeted else "",
                met=p99 < TARGET_P99_MS if targeted else None,
            ),
            Row(
                scenario,
                "paid / purchases (confirmed by)",
                f"{len(latencies)} / {len(path_ids)} "
                f"({', '.join(f'{k} {v}' for k, v in sorted(paths.items()))})",
                target=f"{len(path_ids)} / {len(path_ids)}",
                met=len(latencies) == len(path_ids),
            ),
        ]
    section.notes.append(
        f"{n} purchases per path, completed {PACE * 1000:.0f} ms apart; latency from the "
        "sandbox's commit of Completed to the shop's commit of the paid order. The delivery "
        "worker is woken by the commit of the delivery (SQLite: PRAGMA data_version; "
        "PostgreSQL: LISTEN/NOTIFY), not by its 0.5 s poll."
    )
    return section


def _paced(ids: Sequence[str], action: Callable[[str], object]) -> None:
    for pid in ids:
        started = time.perf_counter()
        action(pid)
        time.sleep(max(0.0, PACE - (time.perf_counter() - started)))


def _wait_paid(env: BenchEnv, ids: Sequence[str]) -> None:
    try:
        wait_until(
            lambda: env.paid_count(ids) == len(ids), timeout=60, interval=0.2, message="paid"
        )
    except AssertionError:
        pass  # the table shows how many were paid


def _latencies(env: BenchEnv, ids: Sequence[str]) -> tuple[list[float], Counter[str]]:
    completed = env.completed_at(ids)
    confirmed = env.confirmations(ids)
    latencies = [
        (confirmed[pid][0] - completed[pid]).total_seconds() * 1000
        for pid in ids
        if pid in completed and pid in confirmed
    ]
    return latencies, Counter(by for _at, by in confirmed.values())
