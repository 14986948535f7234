"""Flask CLI commands: ``deliver`` (the callback worker) and ``init-db``.

Thin wrappers over services. Stopping the worker with SIGTERM or Ctrl-C lets the current
attempt finish; ``kill -9`` is safe too (the claim's lease expires and another worker
sends again).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from sandbox.db import CommitWatch, db

log = logging.getLogger("sandbox.worker")


def run_worker(
    once: bool,
    poll_interval: float,
    stop: threading.Event,
    watch: CommitWatch | None = None,
    senders: Executor | None = None,
    count: int = 1,
) -> int:
    """Expire stale purchases and deliver due callbacks until ``stop`` is set
    (``count`` callbacks at once on ``senders``, see ``delivery.deliver_due``).

    Idle, the worker waits for a commit (``watch``: a new delivery is sent at once) or
    for the poll interval (retries fall due as time passes); stale purchases are expired
    once per poll interval. Errors (a locked or unreachable database) are logged and
    retried after the poll interval; the worker never exits on them. Returns the total
    attempts made.
    """
    from sandbox import delivery, purchases

    total = 0
    expire_at = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() >= expire_at:
                purchases.expire_stale()
                expire_at = time.monotonic() + poll_interval
            made = delivery.deliver_due(senders, count)
        except Exception:
            if once:
                raise
            log.exception("delivery round failed; retrying in %.1fs", poll_interval)
            stop.wait(poll_interval)
            continue
        total += made
        if once:
            break
        if made == 0:
            if watch is None:
                stop.wait(poll_interval)
            else:
                watch.wait(poll_interval, stop)
    return total


@click.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--senders",
    type=click.IntRange(min=1, max=64),
    default=4,
    show_default=True,
    help="Callbacks sent at once.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Seconds between polls when idle (default: SANDBOX_DELIVERY_POLL_INTERVAL).",
)
@with_appcontext
def deliver_command(once: bool, senders: int, poll_interval: float | None) -> None:
    """Send due server-side callbacks (the delivery worker)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.INFO)
    logging.getLogger("sandbox.delivery").setLevel(logging.INFO)
    interval = poll_interval or current_app.config["SANDBOX_DELIVERY_POLL_INTERVAL"]
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "delivery worker started (%d senders, poll every %.2fs, woken by commits)",
        senders,
        interval,
    )
    from sandbox.delivery import CHANNEL

    watch = CommitWatch(db.engine, CHANNEL)
    try:
        with ThreadPoolExecutor(senders, thread_name_prefix="sender") as pool:
            total = run_worker(once, interval, stop, watch, pool, senders)
    finally:
        watch.close()
    log.info("delivery worker stopped after %d attempts", total)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the sandbox's tables and configured merchants (idempotent)."""
    from sandbox.config import configured_merchants
    from sandbox.merchants import init_db

    init_db()
    codes = ", ".join(configured_merchants(current_app.config)) or "none configured"
    click.echo(f"Sandbox database ready. Merchants (site codes): {codes}.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(deliver_command)
    app.cli.add_command(init_db_command)
