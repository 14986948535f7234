"""What every scenario starts from: the test harness's :class:`~tests.harness.Stack` (the
Procfile's processes, as ``make run`` starts them, on free loopback ports), the
baseline app beside it, and helpers to make orders and purchases.

Orders are made the shop's own way (``begin_checkout``, which calls InitializePayment
over HTTP) and purchases completed the sandbox's way (its admin API, as the scripted
customer), except where a scenario needs more orders than that can make in seconds.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from bench import baseline
from tests.harness import Process, Stack, free_port, procfile, wait_until


class BenchEnv:
    """A set-up stack (nothing running yet) and the baseline's database."""

    def __init__(
        self, workdir: Path, database: str, database_url: str | None, baseline_url: str | None
    ) -> None:
        self.workdir = workdir
        self.database = database
        # Callbacks are only sent when a scenario turns them on (merchant settings).
        self.stack = Stack.create(workdir / "stack", database_url)
        self.stack.setup()
        self.baseline_database_url = baseline_url or f"sqlite:///{workdir / 'baseline.db'}"
        self._baseline: Process | None = None
        self.baseline_url = ""

    @property
    def shop_database_url(self) -> str:
        return self.stack.settings.database_url

    def authorization(self) -> str:
        """The callback's Authorization header, as the sandbox sends it."""
        user, password = self.stack.callback_auth
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    # -- processes ------------------------------------------------------------------------
    def start_baseline(self, purchase_ids: Sequence[str]) -> str:
        """The baseline under the Procfile's own gunicorn command line (the shop's, with
        the app swapped), with one pending order per purchase id; returns its URL."""
        baseline.init_db(self.baseline_database_url, purchase_ids)
        port = free_port()
        command = procfile()["shop"].replace("wsgi:app", "'bench.baseline:create_app()'")
        env = {
            **self.stack.env,
            "SHOP_PORT": str(port),
            "BASELINE_DATABASE_URL": self.baseline_database_url,
        }
        log = self.workdir / "baseline.log"
        self._baseline = Process(["sh", "-c", "exec " + command], env, log).start()
        self.baseline_url = f"http://127.0.0.1:{port}"
        proc = self._baseline

        def healthy() -> bool:
            if not proc.running:
                raise RuntimeError(f"the baseline exited:\n{proc.output()[-3000:]}")
            try:
                return requests.get(self.baseline_url + "/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_until(healthy, timeout=30, interval=0.05, message="the baseline answers")
        return self.baseline_url

    def stop_baseline(self) -> None:
        if self._baseline is not None:
            self._baseline.kill()
            self._baseline.wait_stopped(0)
            self._baseline = None

    def close(self) -> None:
        self.stop_baseline()
        self.stack.close()

    # -- orders ---------------------------------------------------------------------------
    def stock_up(self) -> None:
        """Enough stock of every product for any number of orders."""
        from shop.extensions import db
        from shop.models import Product

        def update() -> None:
            db.session.execute(sa.update(Product).values(stock=10_000_000))
            db.session.commit()

        self.stack.query(update)

    def new_orders(self, n: int, threads: int = 4) -> list[str]:
        """``n`` pending orders of one mug each, their purchases in the sandbox; their
        purchase ids."""
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(lambda _: self.stack.checkout().purchase_id, range(n)))

    def complete(self, purchase_ids: Sequence[str], callback: bool, threads: int = 4) -> None:
        """The customer completes each purchase (Invoice), subscribing to the callback
        or not."""
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda p: self.stack.complete(p, callback=callback), purchase_ids))

    def paid_orders(self, n: int) -> list[str]:
        """``n`` orders paid through the done page; their purchase ids."""
        ids = self.new_orders(n)
        self.complete(ids, callback=False)
        for pid in ids:
            assert self.stack.done(pid).status_code == 200
        return ids

    def sandbox_rows(self, statement: sa.Select[Any]) -> list[sa.Row[Any]]:
        """A query on the sandbox's database (its in-process twin)."""
        from sandbox.db import db

        with self.stack.sandbox_app.app_context():
            try:
                return list(db.session.execute(statement).all())
            finally:
                db.session.remove()

    def shop_rows(self, statement: sa.Select[Any]) -> list[sa.Row[Any]]:
        """A query on the shop's database."""
        from shop.extensions import db

        return self.stack.query(lambda: list(db.session.execute(statement).all()))

    def completed_at(self, purchase_ids: Sequence[str]) -> dict[str, datetime]:
        """When the sandbox committed each purchase as Completed."""
        from sandbox.models import Purchase

        rows = self.sandbox_rows(
            sa.select(Purchase.id, Purchase.completed_at).where(Purchase.id.in_(purchase_ids))
        )
        return {pid: at for pid, at in rows if at is not None}

    def confirmations(self, purchase_ids: Sequence[str]) -> dict[str, tuple[datetime, str]]:
        """When and by which path the shop paid each order (paid ones only)."""
        from shop.extensions import db
        from shop.models import Order, OrderState

        rows = self.stack.query(
            lambda: db.session.execute(
                sa.select(Order.purchase_id, Order.confirmed_at, Order.confirmed_by).where(
                    Order.purchase_id.in_(purchase_ids), Order.state == OrderState.PAID
                )
            ).all()
        )
        return {pid: (at, str(by.value)) for pid, at, by in rows if pid and at and by}

    def paid_count(self, purchase_ids: Sequence[str]) -> int:
        from shop.extensions import db
        from shop.models import Order, OrderState

        return self.stack.query(
            lambda: (
                db.session.scalar(
                    sa.select(sa.func.count(Order.id)).where(
                        Order.purchase_id.in_(purchase_ids), Order.state == OrderState.PAID
                    )
                )
                or 0
            )
        )


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory (VmHWM) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (gunicorn's workers of its arbiter)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...``; afterwards ``t[0]`` is the elapsed time in seconds."""
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)
