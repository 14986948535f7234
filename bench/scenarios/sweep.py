"""Scenario 4: the sweep at scale.

:data:`ABANDONED` pending orders whose customers left Avarda's form (their purchases
still BeingProcessed) fill the shop, and :data:`LOST` purchases completed without any
notification reaching the shop. Avarda answers in about 100 ms (``bench.latency_proxy``
between the sweepers and the sandbox, which also counts the calls). Measured: the time
from the sweep's first call to Avarda until the lost purchases are all paid, and the
GetPaymentStatus calls made until then; once with one sweeper, once with two, which
should split the work between them rather than both doing all of it.

The abandoned orders are written straight into both databases (made one by one through
InitializePayment they would take minutes); the lost purchases are made the shop's way.
"""

from __future__ import annotations

import secrets
import socket
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.env import BenchEnv
from bench.options import Options
from bench.report import Row, Section
from common.db import utcnow
from tests.harness import SITE_CODE, Process, free_port, procfile, wait_until

ABANDONED = 10_000
LOST = 100
DELAY = 0.1


def run(env: BenchEnv, options: Options) -> Section:
    abandoned = options.scale(ABANDONED, 2_000)
    lost_count = options.scale(LOST, 40)
    env.stack.start("shop", "sandbox")
    env.stock_up()
    _abandon(env, abandoned)
    proxy_port = free_port()
    calls_log = env.workdir / "proxy.log"
    proxy = Process(
        [
            sys.executable,
            "-m",
            "bench.latency_proxy",
            f"--port={proxy_port}",
            f"--target=127.0.0.1:{env.stack.settings.sandbox_port}",
            f"--delay={DELAY}",
        ],
        env.stack.env,
        calls_log,
    ).start()
    wait_until(lambda: _listening(proxy_port), timeout=30, message="the latency proxy")

    section = Section("4. Sweep at scale")
    try:
        for sweepers in (1, 2):
            lost = env.new_orders(lost_count)
            env.complete(lost, callback=False)
            _backdate(env, lost, timedelta(minutes=10))
            section.rows += _phase(env, sweepers, lost, proxy_port, calls_log, abandoned)
    finally:
        proxy.kill()
        proxy.wait_stopped(0)
        env.stack.stop_all()
    section.notes.append(
        f"{abandoned} abandoned pending orders (purchases still BeingProcessed) and "
        f"{lost_count} completed purchases whose notifications were lost; Avarda answers "
        f"{DELAY * 1000:.0f} ms later than the sandbox would (a delaying proxy). Time from "
        "the sweepers' first call to Avarda until the last lost order is paid."
    )
    return section


def _phase(
    env: BenchEnv, sweepers: int, lost: list[str], proxy_port: int, calls_log: Path, total: int
) -> list[Row]:
    already = len(_calls(calls_log))
    command = procfile()["sweeper"]
    procs = [
        Process(
            ["sh", "-c", "exec " + command],
            {**env.stack.env, "AVARDA_BASE_URL": f"http://127.0.0.1:{proxy_port}/CheckOut2"},
            env.workdir / f"sweeper-{sweepers}-{i}.log",
        ).start()
        for i in range(sweepers)
    ]
    try:
        wait_until(lambda: env.paid_count(lost) == len(lost), timeout=600, interval=0.25)
        paid = True
    except AssertionError:
        paid = False
    finally:
        for proc in procs:
            proc.stop()
    confirmed = env.confirmations(lost)
    calls = _calls(calls_log)[already:]
    scenario = f"4. Sweep, {sweepers} sweeper{'s' if sweepers > 1 else ''}"
    if not calls or not confirmed:
        return [Row(scenario, "lost orders paid", f"{len(confirmed)} / {len(lost)}", met=False)]
    start = calls[0][0]
    last_paid = max(at.timestamp() for at, _by in confirmed.values())
    until = [name for at, name in calls if at <= last_paid]
    status_calls = until.count("GetPaymentStatus")
    queue_calls = until.count("GetPaymentStatusQueue")
    asked = Counter(name.split(" ", 1)[1] for name in until if name.startswith("purchase "))
    per_lost = [asked[pid] for pid in lost]
    twice = sum(1 for n in per_lost if n > 1)
    return [
        Row(
            scenario,
            f"time until {len(lost)} lost orders paid (s)",
            f"{last_paid - start:.1f}" if paid else f"not all: {len(confirmed)} / {len(lost)}",
            met=None if paid else False,
        ),
        Row(
            scenario,
            "GetPaymentStatus calls until then",
            f"{status_calls} (+ {queue_calls} queue pages): {sum(per_lost)} for the lost"
            f" orders, {status_calls - sum(per_lost)} for some of the {total} abandoned",
        ),
        Row(
            scenario,
            "lost orders asked about more than once",
            str(twice),
            target="0 (the sweepers split the work)",
            met=twice == 0 if sweepers > 1 else None,
        ),
    ]


def _calls(log: Path) -> list[tuple[float, str]]:
    calls = []
    for line in log.read_text().splitlines() if log.exists() else []:
        at, _, name = line.partition(" ")
        try:
            calls.append((float(at), name))
        except ValueError:
            continue  # the proxy's own messages
    return calls


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _abandon(env: BenchEnv, n: int) -> None:
    """``n`` pending orders and their purchases (BeingProcessed, far from timing out),
    created between one and three hours ago."""
    from sandbox.db import db as sandbox_db
    from sandbox.models import Merchant, Purchase, State
    from shop.extensions import db
    from shop.models import Order, OrderState

    now = utcnow()
    ids = [secrets.token_hex(16) for _ in range(n)]
    created = [now - timedelta(hours=3) + timedelta(hours=2) * i / n for i in range(n)]
    with env.stack.sandbox_app.app_context():
        session = sandbox_db.session
        merchant = session.scalar(sa.select(Merchant.id).where(Merchant.site_code == SITE_CODE))
        session.execute(
            sa.insert(Purchase),
            [
                {
                    "id": pid,
                    "merchant_id": merchant,
                    "state": int(State.BEING_PROCESSED),
                    "price": 250,
                    "created_at": at,
                    "updated_at": at,
                    "expires_at": now + timedelta(days=1),
                }
                for pid, at in zip(ids, created, strict=True)
            ],
        )
        session.commit()
        session.remove()

    def orders() -> None:
        db.session.execute(
            sa.insert(Order),
            [
                {
                    "state": OrderState.PENDING,
                    "total_minor": 25000,
                    "vat_minor": 5000,
                    "purchase_id": pid,
                    "cart_fingerprint": "abandoned",
                    "created_at": at,
                    "updated_at": at,
                }
                for pid, at in zip(ids, created, strict=True)
            ],
        )
        db.session.commit()

    env.stack.query(orders)


def _backdate(env: BenchEnv, purchase_ids: list[str], age: timedelta) -> None:
    """Make orders old enough for the sweep (``RECONCILE_MIN_AGE``)."""
    from shop.extensions import db
    from shop.models import Order

    def update() -> None:
        db.session.execute(
            sa.update(Order)
            .where(Order.purchase_id.in_(purchase_ids))
            .values(created_at=utcnow() - age)
        )
        db.session.commit()

    env.stack.query(update)
