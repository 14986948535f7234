"""Flask CLI commands: thin wrappers over the services."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from common.db import utcnow
from shop.catalog import seed_catalogue
from shop.config import MAX_SECONDS
from shop.demo import SETTINGS_FILE, describe, ensure_settings, sandbox_login
from shop.extensions import MIGRATIONS_DIR, avarda_client, db
from shop.mail.outbox import BATCH_LIMIT, send_due
from shop.mail.transport import transport_from_config
from shop.orders.admins import MIN_PASSWORD_LENGTH, AdminError, create_admin, seed_admin
from shop.orders.callback_log import prune_callbacks
from shop.orders.sweep import sweep

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class Seconds(click.FloatRange):
    """A number of seconds in range and finite: ``FloatRange`` lets nan and inf through,
    which would only fail later, in ``time.sleep`` or a date calculation."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        seconds: float = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds.", param, ctx)
        return seconds


def _every_option(f: F) -> F:
    return click.option(
        "--every",
        type=Seconds(min=0.05, max=MAX_SECONDS),
        default=None,
        help="Run forever, one pass every SECONDS (default: one pass, then exit).",
    )(f)


def _repeat(name: str, every: float | None, one_pass: Callable[[], bool]) -> None:
    """Run ``one_pass`` once, or for ever with ``every`` seconds between passes.

    In a loop a failing pass is logged and tried again (the database or Avarda may be
    back by then); a single pass lets the error out. ``one_pass`` returns True when
    more work is already waiting, and then the pause is skipped.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    while True:
        more = False
        try:
            more = one_pass()
        except Exception:
            if every is None:
                raise
            log.exception("%s: pass failed; trying again in %s s", name, every)
        finally:
            db.session.remove()
        if every is None:
            return
        if not more:
            time.sleep(every)


@click.command("reconcile")
@_every_option
@click.option(
    "--min-age",
    type=Seconds(min=0, max=MAX_SECONDS),
    default=None,
    help="Only check pending orders older than SECONDS (default RECONCILE_MIN_AGE).",
)
@with_appcontext
def reconcile_command(every: float | None, min_age: float | None) -> None:
    """Confirm pending orders whose notifications never arrived (the sweep)."""

    def one_pass() -> bool:
        config = current_app.config
        report = sweep(
            db.session(),
            avarda_client(),
            min_age=config["RECONCILE_MIN_AGE"] if min_age is None else min_age,
            shop_url=config["SHOP_PUBLIC_URL"],
        )
        if every is None or report.checked:
            click.echo(f"reconcile: {report}")
        kept = timedelta(days=config["CALLBACK_LOG_DAYS"])
        pruned = prune_callbacks(db.session(), utcnow() - kept)
        if pruned:
            click.echo(f"reconcile: deleted {pruned} notification log rows older than {kept}")
        return False

    _repeat("reconcile", every, one_pass)


@click.command("send-mail")
@_every_option
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
    transport = transport_from_config(current_app.config)
    click.echo(f"send-mail: sending through {transport!r}")

    def one_pass() -> bool:
        report = send_due(
            db.session(), transport, limit=limit, sender=current_app.config["MAIL_FROM"]
        )
        if every is None or report.claimed:
            click.echo(f"send-mail: {report}")
        return report.claimed >= limit  # a full batch: more may be waiting

    _repeat("send-mail", every, one_pass)


@click.command("create-admin")
@click.option("--email", prompt="E-mail", help="The admin's e-mail address (the login).")
@with_appcontext
def create_admin_command(email: str) -> None:
    """Create a back-office admin. The password is always prompted for (twice, hidden),
    so it never appears in the shell history or the process list."""
    password = click.prompt(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
        hide_input=True,
        confirmation_prompt=True,
    )
    try:
        user = create_admin(db.session(), email, password)
    except AdminError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"create-admin: {user.email} can now sign in at /admin/")


def setup_database() -> None:
    """Apply every migration, then seed the demo catalogue and admin (idempotent).

    Call inside an app context. Safe to run again: products and the admin that
    already exist are left as they are (stock changed by sales is not reset).
    """
    upgrade(directory=str(MIGRATIONS_DIR))
    seed_catalogue(db.session())
    seed_admin(
        db.session(),
        current_app.config.get("ADMIN_EMAIL", ""),
        current_app.config.get("ADMIN_PASSWORD", ""),
    )


@click.command("init-settings")
@with_appcontext
def init_settings_command() -> None:
    """Write instance/settings.env with fresh demo secrets, unless it exists (mode 0600).

    Run it before ``setup``: the settings are read when an app is built, so the app that
    runs this command does not see the file it writes.
    """
    path = Path(current_app.instance_path) / SETTINGS_FILE
    created = ensure_settings(path)
    click.echo(f"Settings: {path} ({'generated now' if created else 'kept'})")


@click.command("setup")
@with_appcontext
def setup_command() -> None:
    """Migrate the shop's database, seed the demo catalogue and admin (idempotent), and
    print where the demo is (with the logins, in demo mode only)."""
    setup_database()
    settings_file = Path(current_app.instance_path) / SETTINGS_FILE
    click.echo(
        describe(
            current_app.config,
            sandbox_login(settings_file),
            str(current_app.config["SANDBOX_PORT"]),
        )
    )


def register_cli(app: Flask) -> None:
    app.cli.add_command(init_settings_command)
    app.cli.add_command(setup_command)
    app.cli.add_command(reconcile_command)
    app.cli.add_command(send_mail_command)
    app.cli.add_command(create_admin_command)
