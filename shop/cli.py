"""Flask CLI commands: thin wrappers over the services."""

from __future__ import annotations

import logging
import time

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from shop.extensions import db
from shop.orders.mail_transport import transport_from_config
from shop.orders.outbox import BATCH_LIMIT, send_due
from shop.orders.sweep import sweep

log = logging.getLogger(__name__)


@click.command("reconcile")
@click.option(
    "--every",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Run forever, one pass every SECONDS (default: one pass, then exit).",
)
@click.option(
    "--min-age",
    type=click.FloatRange(min=0),
    default=None,
    help="Only check pending orders older than SECONDS (default RECONCILE_MIN_AGE).",
)
@with_appcontext
def reconcile_command(every: float | None, min_age: float | None) -> None:
    """Confirm pending orders whose notifications never arrived (the sweep)."""
    _basic_logging()
    while True:
        try:
            report = sweep(min_age=min_age)
            click.echo(f"reconcile: {report}")
        except Exception:
            if every is None:
                raise
            log.exception("reconcile: pass failed; trying again in %s s", every)
        finally:
            db.session.remove()
        if every is None:
            return
        time.sleep(every)


@click.command("send-mail")
@click.option(
    "--every",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Run forever, one pass every SECONDS (default: one pass, then exit).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=BATCH_LIMIT,
    show_default=True,
    help="Send at most N e-mails per pass.",
)
@with_appcontext
def send_mail_command(every: float | None, limit: int) -> None:
    """Send the e-mails waiting in the outbox (through MAIL_TRANSPORT)."""
    _basic_logging()
    transport = transport_from_config(current_app.config)
    click.echo(f"send-mail: sending through {transport!r}")
    while True:
        busy = False
        try:
            report = send_due(transport, limit=limit)
            busy = report.claimed >= limit
            if every is None or report.claimed:
                click.echo(f"send-mail: {report}")
        except Exception:
            if every is None:
                raise
            log.exception("send-mail: pass failed; trying again in %s s", every)
        finally:
            db.session.remove()
        if every is None:
            return
        if not busy:  # after a full batch more may be waiting: no pause
            time.sleep(every)


def _basic_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def register_cli(app: Flask) -> None:
    app.cli.add_command(reconcile_command)
    app.cli.add_command(send_mail_command)
