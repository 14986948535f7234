"""The mailer: claims with a lease, sends outside transactions, retries with backoff,
gives up visibly; the file transport, the SMTP settings; the ``send-mail`` command. The SMTP
transport against a real SMTP server is in ``tests/integration/test_mail_smtp.py``.

Time is always passed in (``now``); nothing here waits for a clock.
"""

from __future__ import annotations

import email
import threading
from datetime import timedelta
from email import policy
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from flask import current_app, render_template_string

from shop import ConfigError, create_app
from shop.catalog import get_product_by_sku
from shop.extensions import avarda_client, db
from shop.mail.outbox import (
    LEASE,
    backoff,
    claim_next,
    record_failure,
    record_sent,
)
from shop.mail.transport import (
    FileTransport,
    MailError,
    SmtpTransport,
    transport_from_config,
)
from shop.models import OutboxEmail, utcnow
from shop.orders.checkout import begin_checkout
from shop.orders.confirm import confirm_purchase
from shop.transactions import end_read
from tests.harness import postgres_database, shop_config
from tests.harness.outbox import T0, fresh, queue_email, send
from tests.unit.fakes import make_app

SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-Pa55word-that-must-not-leak"


class Recorder:
    """A transport that keeps what it is given; raises the queued failures first."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.messages: list[EmailMessage] = []
        self.in_transaction: list[bool] = []
        self.lock = threading.Lock()

    def send(self, message: EmailMessage) -> None:
        self.in_transaction.append(db.session().in_transaction())
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.messages.append(message)

    @property
    def recipients(self) -> list[str]:
        return [m["To"] for m in self.messages]


# The service ------------------------------------------------------------------------


def test_confirmed_order_email_is_sent_once_and_marked(shop):
    _, fake = shop
    session = begin_checkout(
        db.session(), avarda_client(), [(get_product_by_sku(db.session(), "MUG-01").id, 1)], None
    )
    fake.complete(session.purchase_id)
    confirm_purchase(
        db.session(),
        avarda_client(),
        session.purchase_id,
        "callback",
        shop_url=current_app.config["SHOP_PUBLIC_URL"],
    )
    mail_id = db.session.scalar(sa.select(OutboxEmail.id))
    transport = Recorder()

    report = send(transport, now=T0)

    assert (report.claimed, report.sent) == (1, 1)
    [message] = transport.messages
    assert message["To"] == "anna@example.com"
    assert message["From"] == "shop@example.com"
    assert message["Subject"].startswith("Order ") and "is confirmed" in message["Subject"]
    assert "thank you for your order" in message.get_content()
    assert transport.in_transaction == [False]  # no lock held while the mail goes out
    mail = fresh(mail_id)
    assert mail.sent_at == T0 and mail.attempts == 1 and mail.status == "sent"
    assert mail.lease_until is None and mail.next_attempt_at is None

    assert (
        send(
            transport,
            now=T0 + timedelta(days=1),
        ).claimed
        == 0
    )
    assert len(transport.messages) == 1


def test_failure_records_the_error_and_retries_with_backoff(shop):
    mail_id = queue_email()
    transport = Recorder(MailError("421 try again later"), ConnectionRefusedError("refused"))

    first = send(transport, now=T0)
    mail = fresh(mail_id)
    assert (first.claimed, first.retrying, first.sent) == (1, 1, 0)
    assert mail.sent_at is None and mail.status == "retrying" and mail.attempts == 1
    assert mail.last_error == "421 try again later"
    assert mail.next_attempt_at == T0 + timedelta(seconds=10) and mail.lease_until is None

    assert (
        send(
            transport,
            now=T0 + timedelta(seconds=9),
        ).claimed
        == 0
    )
    second = send(
        transport,
        now=T0 + timedelta(seconds=10),
    )
    mail = fresh(mail_id)
    assert second.retrying == 1 and mail.attempts == 2
    assert mail.last_error == "ConnectionRefusedError: refused"
    assert mail.next_attempt_at == T0 + timedelta(seconds=70)

    third = send(
        transport,
        now=T0 + timedelta(seconds=70),
    )
    mail = fresh(mail_id)
    assert third.sent == 1 and transport.recipients == ["anna@example.com"]
    assert mail.sent_at == T0 + timedelta(seconds=70) and mail.attempts == 3


def test_backoff_schedule():
    assert [backoff(n).total_seconds() for n in range(1, 7)] == [10, 60, 300, 900, 900, 900]


def test_gives_up_after_max_attempts_and_keeps_the_row(shop):
    mail_id = queue_email()
    transport = Recorder(*(MailError(f"down {n}") for n in range(1, 10)))
    now = T0
    for attempt in (1, 2):
        report = send(transport, now=now, max_attempts=3)
        assert report.retrying == 1
        now += backoff(attempt)

    last = send(transport, now=now, max_attempts=3)

    mail = fresh(mail_id)
    assert last.gave_up == 1 and mail.status == "failed"
    assert mail.failed_at == now and mail.attempts == 3 and mail.last_error == "down 3"
    assert mail.next_attempt_at is None and mail.sent_at is None
    assert (
        send(
            transport,
            now=now + timedelta(days=30),
        ).claimed
        == 0
    )
    assert transport.messages == []


def test_permanent_errors_give_up_at_once(shop):
    refused = queue_email(to="refused@example.com")
    nobody = queue_email(to="")
    transport = Recorder(MailError("550 no such user", permanent=True))

    report = send(transport, now=T0)

    assert report.gave_up == 2 and report.claimed == 2
    assert fresh(refused).status == "failed" and fresh(refused).attempts == 1
    assert fresh(nobody).last_error == "no valid recipient address"
    assert len(transport.in_transaction) == 1  # the address-less one never reached it


def test_limit_bounds_one_pass(shop):
    for n in range(3):
        queue_email(to=f"c{n}@example.com")
    transport = Recorder()
    assert send(transport, now=T0, limit=2).sent == 2
    assert send(transport, now=T0, limit=2).sent == 1
    assert sorted(transport.recipients) == [f"c{n}@example.com" for n in range(3)]


def test_two_concurrent_senders_never_send_the_same_email_twice(shop):
    app, _ = shop
    ids = [queue_email(to=f"c{n}@example.com") for n in range(12)]
    db.session.remove()
    both_sending = threading.Barrier(2, timeout=10)
    first_send = threading.local()

    class Overlapping(Recorder):
        def send(self, message: EmailMessage) -> None:
            if not getattr(first_send, "done", False):
                first_send.done = True
                both_sending.wait()  # both senders hold a claim at the same moment
            super().send(message)

    transport = Overlapping()
    reports, errors = [], []

    def sender() -> None:
        try:
            with app.app_context():
                reports.append(send(transport, now=T0))
                db.session.remove()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == [] and not any(t.is_alive() for t in threads)
    assert sorted(transport.recipients) == sorted(f"c{n}@example.com" for n in range(12))
    assert all(r.sent >= 1 for r in reports) and sum(r.sent for r in reports) == 12
    assert all(fresh(i).attempts == 1 and fresh(i).sent_at == T0 for i in ids)


def test_an_expired_lease_is_retried_and_the_stale_claim_cannot_record(shop):
    mail_id = queue_email()
    stale = claim_next(db.session(), T0)  # a sender that dies mid-send: it never records
    transport = Recorder()

    assert (
        send(
            transport,
            now=T0 + LEASE - timedelta(seconds=1),
        ).claimed
        == 0
    )
    report = send(transport, now=T0 + LEASE)

    assert report.sent == 1 and transport.recipients == ["anna@example.com"]
    mail = fresh(mail_id)
    assert mail.attempts == 2 and mail.sent_at == T0 + LEASE
    # the dead sender's late result (if it ever comes back) changes nothing
    assert record_sent(db.session(), stale, T0 + 2 * LEASE) is False
    assert record_failure(db.session(), stale, "late", T0 + 2 * LEASE) == "lost_claim"
    mail = fresh(mail_id)
    assert mail.sent_at == T0 + LEASE and mail.last_error is None


def test_only_the_latest_claim_records_while_both_are_in_flight(shop):
    mail_id = queue_email()
    stale = claim_next(db.session(), T0)
    latest = claim_next(db.session(), T0 + LEASE)  # the lease ran out; another sender took over
    assert (stale.attempt, latest.attempt) == (1, 2)

    assert record_failure(db.session(), stale, "timed out", T0 + LEASE) == "lost_claim"
    assert record_sent(db.session(), stale, T0 + LEASE) is False
    mail = fresh(mail_id)
    assert mail.lease_until == latest.lease_until and mail.last_error is None
    assert mail.sent_at is None

    assert record_sent(db.session(), latest, T0 + LEASE) is True
    assert fresh(mail_id).sent_at == T0 + LEASE


def test_a_slow_sender_still_records_sent_when_nobody_reclaimed(shop):
    mail_id = queue_email()
    claim = claim_next(db.session(), T0)
    assert record_sent(db.session(), claim, T0 + 3 * LEASE) is True
    assert fresh(mail_id).status == "sent"
    assert send(Recorder(), now=T0 + 4 * LEASE).claimed == 0


@pytest.mark.postgres
@pytest.mark.timeout(30)
def test_postgres_skips_rows_locked_by_another_sender():
    with postgres_database() as url:
        app, _ = make_app(url)
        with app.app_context():
            locked, free = queue_email(to="locked@example.com"), queue_email(to="free@example.com")
            end_read(db.session())
            with db.engine.connect() as other:
                other.execute(
                    sa.select(OutboxEmail.id).where(OutboxEmail.id == locked).with_for_update()
                )  # another sender, mid-claim
                transport = Recorder()
                report = send(transport, now=T0)
                assert report.claimed == 1 and transport.recipients == ["free@example.com"]
                other.rollback()
            assert send(transport, now=T0).sent == 1
            assert fresh(locked).status == fresh(free).status == "sent"
            db.session.remove()
            db.engine.dispose()


def test_admin_shows_attempts_and_the_last_error(shop):
    app, _ = shop
    retrying, failed = queue_email(), queue_email(to="refused@example.com")
    transport = Recorder(MailError("421 busy"), MailError("550 <no> such user", permanent=True))
    send(transport, now=T0)
    template = '{% from "admin/_mail.html" import mail_status %}{{ mail_status(mail) }}'

    def shown(mail_id: int) -> str:
        with app.test_request_context():
            return render_template_string(template, mail=fresh(mail_id))

    assert "retrying" in shown(retrying) and "1 attempt failed" in shown(retrying)
    assert "Last error: 421 busy" in shown(retrying)
    assert "failed" in shown(failed) and "after 1 attempt" in shown(failed)
    assert "550 &lt;no&gt; such user" in shown(failed)  # escaped


# Transports -------------------------------------------------------------------------


def test_file_transport_writes_one_parseable_eml_per_message(shop, tmp_path):
    mail_id = queue_email(to="Anna Andersson <anna@example.com>", subject="Order 1 is confirmed")
    outdir = tmp_path / "mail" / "new"

    assert send(FileTransport(outdir), now=T0).sent == 1

    [path] = list(outdir.iterdir())  # no temporary file left behind
    assert path.suffix == ".eml"
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "anna@example.com"
    assert message["Subject"] == "Order 1 is confirmed"
    assert message["From"] == "shop@example.com"
    assert message["Message-ID"].startswith(f"<outbox-{mail_id}.")
    assert "Total 249.00 SEK" in message.get_content()


# Settings ---------------------------------------------------------------------------


def test_mail_settings_defaults_and_conversion(sqlite_url, tmp_path):
    app = create_app(shop_config(sqlite_url))
    assert app.config["MAIL_TRANSPORT"] == "file" and app.config["MAIL_FROM"] == "shop@example.com"
    assert app.config["MAIL_DIR"].endswith("mail")
    assert isinstance(transport_from_config(app.config), FileTransport)

    smtp = shop_config(
        sqlite_url,
        MAIL_TRANSPORT="smtp",
        MAIL_SERVER="mail.example.com",
        MAIL_PORT="2525",
        MAIL_STARTTLS="off",
        MAIL_USERNAME=SMTP_USER,
        MAIL_PASSWORD=SMTP_PASSWORD,
    )
    config = create_app(smtp).config
    assert config["MAIL_PORT"] == 2525 and config["MAIL_STARTTLS"] is False
    transport = transport_from_config(config)
    assert isinstance(transport, SmtpTransport) and transport.port == 2525
    assert SMTP_PASSWORD not in repr(transport)


@pytest.mark.parametrize(
    "key, settings",
    [
        ("MAIL_TRANSPORT", {"MAIL_TRANSPORT": "carrier-pigeon"}),
        ("MAIL_PORT", {"MAIL_PORT": "smtp"}),
        ("MAIL_PORT", {"MAIL_PORT": "70000"}),
        ("MAIL_STARTTLS", {"MAIL_STARTTLS": "maybe"}),
        ("MAIL_FROM", {"MAIL_FROM": "not an address"}),
        ("MAIL_FROM", {"MAIL_FROM": "shop@example.com\r\nBcc: all@example.com"}),
        ("MAIL_TIMEOUT", {"MAIL_TIMEOUT": "0.0"}),
        ("MAIL_SERVER", {"MAIL_TRANSPORT": "smtp"}),
        ("MAIL_USERNAME", {"MAIL_PASSWORD": SMTP_PASSWORD}),
    ],
)
def test_bad_mail_settings_name_the_key_never_the_value(sqlite_url, key, settings):
    with pytest.raises(ConfigError, match=key) as raised:
        create_app(shop_config(sqlite_url, **settings))
    if key in settings:
        assert settings[key] not in str(raised.value)
    assert SMTP_PASSWORD not in str(raised.value)


# The command ------------------------------------------------------------------------


def test_send_mail_command_runs_one_pass(shop, tmp_path):
    app, _ = shop
    mail_id = queue_email(queued=utcnow() - timedelta(minutes=1))  # the command uses the clock
    app.config["MAIL_DIR"] = str(tmp_path / "outbox")

    result = app.test_cli_runner().invoke(args=["send-mail"])

    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and "FileTransport" in result.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    assert fresh(mail_id).status == "sent"


@pytest.mark.parametrize(
    "args, option",
    [
        (["--every", "-1"], "--every"),
        (["--every", "often"], "--every"),
        (["--every", "nan"], "--every"),
        (["--every", "inf"], "--every"),
        (["--limit", "0"], "--limit"),
        (["--limit", "many"], "--limit"),
    ],
)
def test_send_mail_rejects_bad_options(shop, args, option):
    app, _ = shop
    mail_id = queue_email()
    result = app.test_cli_runner().invoke(args=["send-mail", *args])
    assert result.exit_code == 2 and option in result.output
    assert fresh(mail_id).status == "queued"
