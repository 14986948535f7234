"""Flask CLI commands: ``deliver`` (the callback worker) and ``init-db``.

Thin wrappers over services. Stopping the worker with SIGTERM or Ctrl-C lets the current
attempt finish; ``kill -9`` is safe too (the claim's lease expires and another worker
sends again).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

log = logging.getLogger("sandbox.worker")


def run_worker(once: bool, poll_interval: float, stop: threading.Event) -> int:
    """Expire stale purchases and deliver due callbacks until ``stop`` is set.

    Errors (a locked or unreachable database) are logged and retried after the poll
    interval; the worker never exits on them. Returns the total attempts made.
    """
    from sandbox import delivery, purchases

    total = 0
    while not stop.is_set():
        try:
            purchases.expire_stale()
            made = delivery.deliver_due()
        except Exception:
            if once:
                raise
            log.exception("delivery round failed; retrying in %.1fs", poll_interval)
            made = 0
        total += made
        if once:
            break
        if made == 0:
            stop.wait(poll_interval)
    return total


@click.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Seconds between polls when idle (default: SANDBOX_DELIVERY_POLL_INTERVAL).",
)
@with_appcontext
def deliver_command(once: bool, poll_interval: float | None) -> None:
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
    log.info("delivery worker started (poll every %.2fs)", interval)
    total = run_worker(once, interval, stop)
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
