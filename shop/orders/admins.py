"""Back-office users: creating one from the command line (``flask create-admin``), the
demo admin from the settings, signing in (throttled) and out (every session ends).

Throttling: after ``LOGIN_LIMIT`` failed sign-ins for one account (e-mail) or from one
address within ``LOGIN_WINDOW``, further attempts are refused unchecked (the caller
answers 429 with ``Retry-After``) until enough of those failures are older than the
window; a successful sign-in clears its account's and address's count. The failures are
rows in the database, so the limit holds across gunicorn workers, hosts and restarts;
their keys are hashes, never what was typed (people type passwords into the e-mail
field). Behind a reverse proxy every request comes from the proxy's address unless its
``X-Forwarded-For`` is trusted; the per-account limit holds either way.

Sessions: a session's user id carries the admin's ``session_version``; signing out or a
new password adds one, so every session issued before (a copied cookie too) ends.

Flask-free: the caller passes the session. Passwords are stored as Werkzeug hashes
(scrypt) and never logged or echoed.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from common.db import max_length, utcnow

from ..models import AdminUser, LoginFailure
from ..transactions import write_transaction

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
EMAIL_MAX: int = max_length(AdminUser.__table__.c.email) or 120


class AdminError(ValueError):
    """The admin cannot be created; the message says why and can be shown."""


def normalise_email(email: str) -> str:
    """The address as stored and compared: trimmed, lower case (sign-in ignores case)."""
    return email.strip().lower()


def create_admin(session: Session, email: str, password: str) -> AdminUser:
    """Create an admin; :class:`AdminError` for a bad address or password, or when an
    admin with this address (in any case) exists already."""
    address = normalise_email(email)
    if not _EMAIL.fullmatch(address) or len(address) > EMAIL_MAX:
        raise AdminError(f"{email!r} is not an e-mail address of at most {EMAIL_MAX} characters.")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AdminError(
            f"The password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters."
        )
    with write_transaction(session):
        taken = session.scalar(
            sa.select(AdminUser.id).where(sa.func.lower(AdminUser.email) == address)
        )
        if taken is not None:
            raise AdminError(f"An admin with the e-mail {address} exists already.")
        user = AdminUser(email=address)
        user.set_password(password)
        session.add(user)
    return user


# Checked when the e-mail is unknown, so that a wrong e-mail takes as long as a wrong
# password and the login form does not reveal which admins exist.
_DUMMY_HASH = generate_password_hash("not a real password")


def seed_admin(session: Session, email: str, password: str) -> bool:
    """Create the admin user if both settings are given and it does not exist yet.

    The password of an existing admin is updated to the configured one, so changing
    ``ADMIN_PASSWORD`` and re-running setup works.
    """
    if not email or not password:
        log.info("ADMIN_EMAIL/ADMIN_PASSWORD not set: no admin user created")
        return False
    with write_transaction(session):
        user = session.scalars(sa.select(AdminUser).where(AdminUser.email == email)).one_or_none()
        if user is None:
            user = AdminUser(email=email)
            session.add(user)
        if not user.password_hash or not user.check_password(password):
            user.set_password(password)
    return True


LOGIN_LIMIT = 5
LOGIN_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class SignIn:
    """The admin signed in (None: refused); ``retry_after``: seconds to wait when the
    attempt was not even checked (too many failures)."""

    user: AdminUser | None
    retry_after: int | None = None


def _check(session: Session, email: str, password: str) -> AdminUser | None:
    user = session.scalar(
        sa.select(AdminUser).where(sa.func.lower(AdminUser.email) == normalise_email(email))
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if user.check_password(password) else None


def _failure_keys(email: str, address: str | None) -> list[str]:
    parts = [f"account:{normalise_email(email)}", f"address:{address or ''}"]
    return [hashlib.sha256(part.encode()).hexdigest() for part in parts]


def _retry_after(session: Session, keys: list[str]) -> int | None:
    now = utcnow()
    wait = 0.0
    for key in keys:
        times = sorted(
            session.scalars(
                sa.select(LoginFailure.at).where(
                    LoginFailure.key == key, LoginFailure.at > now - LOGIN_WINDOW
                )
            )
        )
        if len(times) >= LOGIN_LIMIT:
            # Blocked until enough failures leave the window to fall below the limit.
            expires = times[len(times) - LOGIN_LIMIT] + LOGIN_WINDOW
            wait = max(wait, (expires - now).total_seconds())
    return int(wait) + 1 if wait > 0 else None


def sign_in(session: Session, email: str, password: str, address: str | None) -> SignIn:
    """Check a sign-in from ``address``: refused unchecked while blocked, otherwise the
    admin with this e-mail (case-insensitive) and password, or None.

    Takes as long for an unknown e-mail as for a wrong password.
    """
    keys = _failure_keys(email, address)
    with write_transaction(session):
        wait = _retry_after(session, keys)
        if wait is not None:
            return SignIn(None, wait)
        user = _check(session, email, password)
        if user is not None:
            session.execute(sa.delete(LoginFailure).where(LoginFailure.key.in_(keys)))
            return SignIn(user)
        now = utcnow()
        session.execute(sa.delete(LoginFailure).where(LoginFailure.at <= now - LOGIN_WINDOW))
        session.add_all(LoginFailure(key=key, at=now) for key in keys)
    return SignIn(None)


def sign_out(session: Session, user_id: int) -> None:
    """End every session of this admin, on every device."""
    with write_transaction(session):
        user = session.get(AdminUser, user_id, with_for_update=True)
        if user is not None:
            user.end_sessions()


def load_admin(session: Session, user_id: str) -> AdminUser | None:
    """The admin of a session cookie's user id (``<id>.<session version>``), or None
    when the session has ended (signed out, a new password) or the id is malformed."""
    number, _, version = user_id.partition(".")
    if not (number.isdigit() and version.isdigit()):
        return None
    user = session.get(AdminUser, int(number))
    if user is None or (user.session_version or 0) != int(version):
        return None
    return user
