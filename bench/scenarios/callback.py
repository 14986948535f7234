"""Scenario 1: the shop's callback beside the baseline, at concurrency 1, 8 and 32.

30 paid orders receive duplicate callbacks (ids taken in turn), so every request does
the whole confirm step: authentication, parsing, GetPaymentStatus to the sandbox, the
locked decision with its event, the notification log. The baseline (``bench.baseline``)
answers the same requests with the unavoidable part of that work. Rounds alternate
which goes first, and each ratio is taken between the two runs of one round (seconds
apart, under the same load from elsewhere); the table gives the median of the rounds.
Target at c=8: at least 0.8x the baseline's throughput, p99 at most 1.5x its p99.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench import charts
from bench.env import BenchEnv
from bench.load import Load, run_wrk
from bench.options import Options
from bench.report import Row, Section

ORDERS = 30
LEVELS = (1, 8, 32)
TARGET_LEVEL = 8
MIN_RATE_RATIO = 0.8
MAX_P99_RATIO = 1.5


@dataclass
class Pair:
    shop: Load
    baseline: Load

    @property
    def rate_ratio(self) -> float:
        return self.shop.rate / self.baseline.rate if self.baseline.rate else 0.0

    def ratio(self, p: float) -> float:
        base = self.baseline.percentile(p)
        return self.shop.percentile(p) / base if base else float("inf")


def run(env: BenchEnv, options: Options) -> Section:
    env.stack.start("shop", "sandbox")
    env.stock_up()
    ids = env.paid_orders(ORDERS)
    baseline_url = env.start_baseline(ids)
    # The baseline's orders become "paid" with their first callback, as the shop's did.
    targets = {"shop": env.stack.shop_url, "baseline": baseline_url}
    headers = {"Authorization": env.authorization(), "Content-Type": "application/json"}

    def load(name: str, concurrency: int, seconds: int) -> Load:
        return run_wrk(
            targets[name],
            label=name,
            concurrency=concurrency,
            seconds=seconds,
            method="POST",
            path="/avarda/purchase-completed",
            body='{"purchaseId": "{id}"}',
            ids=ids,
            headers=headers,
        )

    for name in targets:  # warm up: imports, connections, caches
        load(name, 8, options.warmup_seconds)
    pairs: dict[int, list[Pair]] = {c: [] for c in LEVELS}
    for concurrency in LEVELS:
        for round_ in range(options.rounds):
            order = ["shop", "baseline"] if round_ % 2 == 0 else ["baseline", "shop"]
            runs = {n: load(n, concurrency, options.seconds) for n in order}
            pairs[concurrency].append(Pair(runs["shop"], runs["baseline"]))
    env.stop_baseline()
    env.stack.stop_all()

    section = Section("1. Callback path vs baseline")
    for concurrency in LEVELS:
        section.rows += _rows(concurrency, pairs[concurrency])
    section.notes.append(
        f"{ORDERS} paid orders receiving duplicate callbacks; wrk with {options.rounds} "
        f"alternating rounds of {options.seconds} s per level; medians over rounds, ratios "
        "taken within each round. Shop and baseline run under the same gunicorn command "
        "line and ask the same sandbox."
    )
    chart = options.chart("callback-latency")
    charts.latency_distributions(
        {c: [(p.shop, p.baseline) for p in pairs[c]] for c in LEVELS}, chart
    )
    section.charts.append(chart.name)
    return section


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _rows(concurrency: int, pairs: list[Pair]) -> list[Row]:
    scenario = f"1. Callback c={concurrency}"
    rate = (_median([p.shop.rate for p in pairs]), _median([p.baseline.rate for p in pairs]))
    rate_ratio = _median([p.rate_ratio for p in pairs])
    targeted = concurrency == TARGET_LEVEL
    rows = [
        Row(
            scenario,
            "throughput (req/s)",
            f"{rate[0]:.0f}",
            f"{rate[1]:.0f}",
            f"{rate_ratio:.2f}x",
            f">= {MIN_RATE_RATIO}x" if targeted else "",
            rate_ratio >= MIN_RATE_RATIO if targeted else None,
        )
    ]
    for p in (50, 95, 99):
        shop = _median([x.shop.percentile(p) for x in pairs])
        base = _median([x.baseline.percentile(p) for x in pairs])
        ratio = _median([x.ratio(p) for x in pairs])
        checked = targeted and p == 99
        rows.append(
            Row(
                scenario,
                f"p{p} (ms)",
                f"{shop:.1f}",
                f"{base:.1f}",
                f"{ratio:.2f}x",
                f"<= {MAX_P99_RATIO}x" if checked else "",
                ratio <= MAX_P99_RATIO if checked else None,
            )
        )
    errors = (sum(p.shop.error_count for p in pairs), sum(p.baseline.error_count for p in pairs))
    requests = (sum(p.shop.requests for p in pairs), sum(p.baseline.requests for p in pairs))
    rows.append(
        Row(
            scenario,
            "errors / requests",
            f"{errors[0]} / {requests[0]}",
            f"{errors[1]} / {requests[1]}",
            "",
            "0",
            errors == (0, 0),
        )
    )
    return rows
