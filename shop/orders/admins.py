"""Back-office users: creating one from the command line (``flask create-admin``), the
demo admin from the settings, and signing in.

Flask-free: the caller passes the session. Passwords are stored as Werkzeug hashes
(scrypt) and never logged or echoed.
"""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from common.db import max_length

from ..models import AdminUser
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


def authenticate(session: Session, email: str, password: str) -> AdminUser | None:
    """The admin with this e-mail (case-insensitive) and password, or None.

    Takes as long for an unknown e-mail as for a wrong password.
    """
    user = session.scalar(
        sa.select(AdminUser).where(sa.func.lower(AdminUser.email) == email.strip().lower())
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if user.check_password(password) else None


def load_admin(session: Session, user_id: str) -> AdminUser | None:
    """The admin of a session cookie's user id, or None."""
    if not user_id.isdigit():
        return None
    return session.get(AdminUser, int(user_id))
