"""Benchmark: the confirm step under a storm of notifications, on the real processes.

The shop runs under gunicorn (3 workers × 4 threads, as in the Procfile) against the sandbox under
gunicorn. For each of N completed purchases the benchmark fires, all at once, C server
callbacks and D done-page hits (the browser path), with many orders in flight together;
then one more callback per order, now a pure duplicate. It prints throughput, latency
percentiles, the duplicate/first ratio, and the invariants that must hold whatever the
timing: exactly one paid transition and one e-mail per order.

    make bench                                  # SQLite
    python -m bench.confirm_race --postgres     # also PostgreSQL: TEST_DATABASE_URL's
                                                # server, or a throwaway one (as the tests)
    python -m bench.confirm_race --postgres URL # also PostgreSQL, on a server where the
                                                # user may create databases

The processes are the test harness's :class:`~tests.harness.Stack`: the Procfile's own
command lines, on free ports, in a temporary directory.

Figures are printed, never asserted: the tests check behaviour, this measures speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa

from shop.extensions import avarda_client, db
from tests.harness import Stack, postgres_database
from tests.harness.postgres import POSTGRES_MISSING, server_bindir, server_url, stop_server


@dataclass
class Phase:
    name: str
    latencies: list[float]
    statuses: Counter
    seconds: float

    def line(self) -> str:
        lat = sorted(self.latencies)
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
        rate = len(lat) / self.seconds if self.seconds else float("inf")
        codes = " ".join(f"{k}×{v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.name:<22} {len(lat):>5} req  {rate:>7.1f} req/s  "
            f"p50 {p(0.5):>6.1f} ms  p95 {p(0.95):>6.1f} ms  "
            f"max {lat[-1] * 1000:>6.1f} ms  [{codes}]"
        )

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)


def _create_orders(stack: Stack, n: int) -> list[str]:
    """N pending orders with Avarda purchases, made by the shop's own checkout service."""
    from shop.models import Product
    from shop.orders.checkout import begin_checkout

    def create() -> list[str]:
        db.session.execute(sa.update(Product).values(stock=1_000_000))
        db.session.commit()
        product_id = db.session.scalar(sa.select(Product.id).order_by(Product.id))
        return [
            begin_checkout(db.session(), avarda_client(), [(product_id, 1)], None).purchase_id
            for _ in range(n)
        ]

    return stack.query(create)


def _complete(stack: Stack, purchase_ids: list[str]) -> None:
    for pid in purchase_ids:
        stack.complete(pid, callback=False)


def _fire(stack: Stack, jobs: list[tuple[str, str]], threads: int, name: str) -> Phase:
    auth = stack.callback_auth
    callback_url = stack.callback_url
    done_url = stack.shop_url + "/checkout/done"

    def one(job: tuple[str, str]) -> tuple[float, int]:
        kind, pid = job
        start = time.perf_counter()
        if kind == "callback":
            r = requests.post(callback_url, json={"purchaseId": pid}, auth=auth, timeout=30)
        else:
            r = requests.get(done_url, params={"purchaseId": pid}, timeout=30)
        return time.perf_counter() - start, r.status_code

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, jobs))
    seconds = time.perf_counter() - start
    return Phase(name, [r[0] for r in results], Counter(r[1] for r in results), seconds)


def _invariants(url: str, purchase_ids: list[str]) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        paid = conn.execute(
            sa.text(
                'SELECT count(*) FROM order_event e JOIN "order" o ON o.id = e.order_id '
                "WHERE e.outcome = 'paid' AND o.purchase_id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": purchase_ids},
        ).scalar_one()
        emails = conn.execute(
            sa.text(
                'SELECT count(*) FROM outbox_email m JOIN "order" o ON o.id = m.order_id '
                "WHERE o.purchase_id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": purchase_ids},
        ).scalar_one()
    engine.dispose()
    ok = paid == len(purchase_ids) and emails == len(purchase_ids)
    verdict = "OK" if ok else "VIOLATED"
    n = len(purchase_ids)
    return f"paid transitions {paid}/{n}, e-mails {emails}/{n}: {verdict}"


def run(database_url: str | None, label: str, args: argparse.Namespace) -> list[Phase]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        stack = Stack.create(Path(tmp), database_url)
        try:
            stack.setup()
            stack.start("shop", "sandbox")
            stack.merchant(callback_enabled=False)  # the benchmark is the only notifier
            purchase_ids = _create_orders(stack, args.orders)
            _complete(stack, purchase_ids)
            storm = [
                (kind, pid)
                for pid in purchase_ids
                for kind in ["callback"] * args.callbacks + ["done"] * args.done
            ]
            first = _fire(stack, storm, args.threads, f"{label}: first storm")
            dupes = _fire(stack, [("callback", p) for p in purchase_ids], args.threads,
                          f"{label}: duplicates")  # fmt: skip
            print(first.line())
            print(dupes.line())
            print(f"{label:<22} {_invariants(stack.settings.database_url, purchase_ids)}")
            return [first, dupes]
        finally:
            stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--callbacks", type=int, default=5, help="callbacks per order")
    parser.add_argument("--done", type=int, default=2, help="done-page hits per order")
    parser.add_argument("--threads", type=int, default=16, help="requests in flight")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        nargs="?",
        const="",
        help="also run on a fresh PostgreSQL database (on URL's server, else as the tests do)",
    )
    args = parser.parse_args()
    print(
        f"{args.orders} orders × ({args.callbacks} callbacks + {args.done} done hits), "
        f"{args.threads} in flight; shop and sandbox: gunicorn as in the Procfile"
    )
    sqlite = run(None, "SQLite", args)
    print(f"duplicate/first median latency (SQLite): {sqlite[1].median / sqlite[0].median:.2f}")
    if args.postgres is not None:
        if not (args.postgres or os.environ.get("TEST_DATABASE_URL") or server_bindir()):
            sys.exit(POSTGRES_MISSING)
        try:
            with postgres_database(args.postgres or server_url()) as url:
                pg = run(url, "PostgreSQL", args)
        finally:
            stop_server()
        print(f"duplicate/first median latency (PostgreSQL): {pg[1].median / pg[0].median:.2f}")
        rate = lambda ph: len(ph.latencies) / ph.seconds  # noqa: E731
        print(f"PostgreSQL/SQLite throughput, first storm: {rate(pg[0]) / rate(sqlite[0]):.2f}")


if __name__ == "__main__":
    main()
