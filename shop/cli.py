"""Flask CLI commands: thin wrappers over the services."""

from __future__ import annotations

import logging
import time

import click
from flask import Flask
from flask.cli import with_appcontext

from shop.extensions import db
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
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
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


def register_cli(app: Flask) -> None:
    app.cli.add_command(reconcile_command)
