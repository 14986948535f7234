"""Login throttling and session versions for the sandbox's admin (dashboard and admin API).

After ``LIMIT`` failed logins for one account or from one address within ``WINDOW``,
further attempts are refused (429 with ``Retry-After``) without checking the password,
until enough of those failures are older than the window. A successful login clears the
count of its account and address. The failures are rows in the database, so the limit
holds across gunicorn workers and restarts; keys are hashes, never what was typed.

Caveat: behind a reverse proxy every request comes from the proxy's address; the
per-account limit still holds, but the per-address one then counts everyone together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from sandbox.db import db, transaction, utcnow
from sandbox.models import AdminSessions, LoginFailure

LIMIT = 5
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    #: Seconds until another attempt will be checked; None when not blocked.
    retry_after: int | None = None


def _keys(account: str | None, address: str | None) -> list[str]:
    parts = [f"account:{(account or '').strip().lower()}", f"address:{address or ''}"]
    return [hashlib.sha256(part.encode()).hexdigest() for part in parts]


def _retry_after(keys: list[str]) -> int | None:
    now = utcnow()
    wait = 0.0
    for key in keys:
        times = sorted(
            db.session.scalars(
                sa.select(LoginFailure.at).where(
                    LoginFailure.key == key, LoginFailure.at > now - WINDOW
                )
            )
        )
        if len(times) >= LIMIT:
            # Blocked until enough failures leave the window to fall below the limit.
            oldest_to_expire = times[len(times) - LIMIT]
            wait = max(wait, (oldest_to_expire + WINDOW - now).total_seconds())
    return max(1, int(wait) + 1) if wait > 0 else None


def attempt(account: str | None, address: str | None, verify: Callable[[], bool]) -> Attempt:
    """Check a login: refused while blocked (``verify`` is then not called), else
    ``verify()``'s answer, counting a failure or clearing the count on success."""
    keys = _keys(account, address)
    with transaction():
        wait = _retry_after(keys)
        if wait is not None:
            return Attempt(ok=False, retry_after=wait)
        if verify():
            db.session.execute(sa.delete(LoginFailure).where(LoginFailure.key.in_(keys)))
            return Attempt(ok=True)
        now = utcnow()
        db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at <= now - WINDOW))
        db.session.add_all(LoginFailure(key=key, at=now) for key in keys)
    return Attempt(ok=False)


def session_version(username: str) -> int:
    row = db.session.get(AdminSessions, username)
    version = 0 if row is None else row.version
    db.session.commit()
    return version


def end_sessions(username: str) -> None:
    """Logout: every session of ``username`` issued so far stops working."""
    with transaction():
        row = db.session.scalar(
            sa.select(AdminSessions).where(AdminSessions.username == username).with_for_update()
        )
        if row is None:
            db.session.add(AdminSessions(username=username, version=1))
        else:
            row.version += 1
