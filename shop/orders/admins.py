"""Back-office users: creating one from the command line (``flask create-admin``).

Flask-free: the caller passes the session. Passwords are stored as Werkzeug hashes
(scrypt) and never logged or echoed.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.models import AdminUser
from shop.orders.transactions import write_transaction

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
EMAIL_MAX = AdminUser.__table__.c.email.type.length


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
