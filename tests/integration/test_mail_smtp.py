"""The SMTP transport against a real SMTP server (aiosmtpd on loopback, with AUTH): it logs
in, sends, and never lets the password into a log or an error; a refused login or a server
without STARTTLS is a retry, never a lost e-mail."""

from __future__ import annotations

import email
import logging
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from flask import Flask

from shop.extensions import db
from shop.mail.transport import MailError, SmtpTransport
from tests.harness import BOTH_DATABASES, free_port
from tests.harness.outbox import T0, fresh, queue_email, send

SMTP_USER = "mailer"
SMTP_PASSWORD = "smtp-Pa55word-that-must-not-leak"


@pytest.fixture
def outbox(app: Flask) -> Iterator[None]:
    """The shop's database in an app context, to queue e-mails and send them."""
    with app.app_context():
        yield
        db.session.remove()


class Sink:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.logins.append(auth_data.login.decode())
        ok = auth_data.login.decode() == SMTP_USER and auth_data.password == (
            SMTP_PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback with AUTH (plain text: no TLS in tests)."""
    sink = Sink()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=sink.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield controller.port, sink
    controller.stop()


@BOTH_DATABASES
def test_smtp_transport_sends_with_login_and_never_logs_the_password(outbox, smtp_server, caplog):
    port, sink = smtp_server
    queue_email(to="anna@example.com", subject="Order 2 is confirmed")
    transport = SmtpTransport(
        "127.0.0.1", port, SMTP_USER, SMTP_PASSWORD, starttls=False, timeout=5
    )
    caplog.set_level(logging.DEBUG)

    report = send(transport, now=T0, sender="Shop <shop@example.com>")

    assert report.sent == 1
    [envelope] = sink.envelopes
    assert envelope.mail_from == "shop@example.com"
    assert envelope.rcpt_tos == ["anna@example.com"]
    received = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["Subject"] == "Order 2 is confirmed"
    assert sink.logins == [SMTP_USER]
    assert SMTP_PASSWORD not in caplog.text and SMTP_PASSWORD not in repr(transport)


@BOTH_DATABASES
def test_smtp_wrong_password_is_a_retry_that_leaks_nothing(outbox, smtp_server, caplog):
    port, sink = smtp_server
    mail_id = queue_email()
    wrong = SMTP_PASSWORD + "-old"
    transport = SmtpTransport("127.0.0.1", port, SMTP_USER, wrong, starttls=False, timeout=5)
    caplog.set_level(logging.DEBUG)

    report = send(transport, now=T0)

    mail = fresh(mail_id)
    assert report.retrying == 1 and sink.envelopes == []
    assert mail.last_error.startswith("SMTP login refused (535)")
    assert wrong not in mail.last_error and wrong not in caplog.text


def test_smtp_without_starttls_on_offer_is_refused_before_login(smtp_server):
    port, sink = smtp_server
    transport = SmtpTransport("127.0.0.1", port, SMTP_USER, SMTP_PASSWORD, starttls=True)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "s@example.com", "a@example.com", "x"

    with pytest.raises(MailError, match="STARTTLS") as raised:
        transport.send(message)

    assert not raised.value.permanent
    assert sink.logins == [] and sink.envelopes == []


def test_smtp_connection_refused_is_temporary():
    transport = SmtpTransport("127.0.0.1", free_port(), starttls=False, timeout=2)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "s@example.com", "a@example.com", "x"
    with pytest.raises(MailError) as raised:
        transport.send(message)
    assert not raised.value.permanent
