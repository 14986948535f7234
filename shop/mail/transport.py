"""How an e-mail leaves the shop: a directory of ``.eml`` files (the demo) or SMTP.

Standard library only. ``send(message)`` returns once the message has been handed over
and raises :class:`MailError` when it was not; ``permanent=True`` means trying again
cannot help (the server refused the recipient or the message). The mailer treats any
other exception as temporary.

The SMTP password is never logged and never part of a ``repr`` or an error message
(errors end up in logs and in ``outbox_email.last_error``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import smtplib
import ssl
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class MailError(Exception):
    """The message was not handed over. ``permanent``: retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class FileTransport:
    """One ``.eml`` file per message in ``directory`` (created when needed).

    Each file appears atomically: it is written under a hidden temporary name in the
    same directory, flushed to disk and then renamed, so a reader never sees half a
    message. Files are named by the time of sending plus a random suffix; an e-mail
    sent twice (see the mailer's at-least-once caveat) leaves two files.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"FileTransport({str(self.directory)!r})"

    def send(self, message: EmailMessage) -> None:
        self.write(message)

    def write(self, message: EmailMessage) -> Path:
        """Write ``message``; returns the path of the new file."""
        data = message.as_bytes(policy=policy.SMTP)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # e-mails: private
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".eml.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            target = self.directory / name
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target


class SmtpTransport:
    """One SMTP session per message: connect, STARTTLS, log in, send, quit.

    With ``starttls`` on, a server that does not offer STARTTLS is refused before any
    login, so the password never travels in clear by accident. ``timeout`` (seconds)
    applies to each socket operation. ``ssl_context`` defaults to the system's
    certificate checks.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.username = username
        self._password = password
        self.starttls = starttls
        self.timeout = timeout
        self.ssl_context = ssl_context

    def __repr__(self) -> str:
        login = f", username={self.username!r}" if self.username else ""
        return f"SmtpTransport({self.host}:{self.port}, starttls={self.starttls}{login})"

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self._password)
                smtp.send_message(message)
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(
                f"{self.host}:{self.port} does not support what is needed "
                f"(STARTTLS or login): {self._scrub(exc)}"
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(
                f"SMTP login refused ({exc.smtp_code}): {self._scrub(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = bool(codes) and all(code >= 500 for code in codes)
            raise MailError(f"recipient refused ({codes})", permanent=permanent) from None
        except smtplib.SMTPDataError as exc:
            raise MailError(
                f"message refused ({exc.smtp_code}): {self._scrub(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"{type(exc).__name__}: {self._scrub(exc)}") from None

    def _scrub(self, text: object) -> str:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        text = str(text)
        return text.replace(self._password, "***") if self._password else text


def transport_from_config(config: Mapping[str, Any]) -> Transport:
    """The transport the ``MAIL_*`` settings (already checked by ``shop.config``) ask for."""
    if config["MAIL_TRANSPORT"] == "smtp":
        if config["MAIL_USERNAME"] and not config["MAIL_STARTTLS"]:
            log.warning("MAIL_STARTTLS is off: the SMTP login travels unencrypted")
        return SmtpTransport(
            host=config["MAIL_SERVER"],
            port=int(config["MAIL_PORT"]),
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
            starttls=bool(config["MAIL_STARTTLS"]),
            timeout=float(config["MAIL_TIMEOUT"]),
        )
    return FileTransport(config["MAIL_DIR"])
