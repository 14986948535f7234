"""PostgreSQL for the tests: the server in ``TEST_DATABASE_URL``, or a throwaway one.

Without ``TEST_DATABASE_URL``, the first test that needs PostgreSQL starts a private
server from the installed server binaries (Debian: ``/usr/lib/postgresql/<version>/bin``,
or ``initdb`` on PATH): ``initdb`` into a temporary directory, a server listening only on
a unix socket in that directory (no TCP port, so no other user reaches it), fsync off. It
is stopped and deleted when the test session ends. initdb refuses to run as root, so as
root (CI, containers) the server runs as the ``postgres`` user, through ``runuser``.

Each test then gets a fresh database on that server (:func:`postgres_database`).
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.harness.common import skip_or_fail

POSTGRES_MISSING = (
    "PostgreSQL tests need PostgreSQL: install its server (`sudo apt-get install postgresql`) "
    "and the tests start a throwaway one, or set TEST_DATABASE_URL to a server where the "
    "user may create databases"
)


def server_bindir() -> Path | None:
    """The newest installed PostgreSQL server binaries (``initdb``, ``pg_ctl``), if any."""

    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in bindir.parent.name.split(".") if p.isdigit())

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


class ThrowawayServer:
    """A PostgreSQL server of our own in a temporary directory (see the module docstring)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="shop-tests-pg-"))
        self.data = self.base / "data"
        self.sockets = self.base / "socket"
        self.url = ""
        self._as_user: list[str] = []

    def start(self) -> str:
        """Create and start the server; returns a superuser URL. Raises RuntimeError with
        the server's own words if it cannot."""
        self.sockets.mkdir()
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "PostgreSQL's initdb refuses to run as root and there is no `postgres` "
                    "user to run it as: run the tests as another user or set TEST_DATABASE_URL"
                ) from None
            runuser = shutil.which("runuser")
            if not runuser:
                raise RuntimeError(
                    "running as root needs `runuser` (util-linux) to start PostgreSQL"
                )
            for path in (self.base, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as_user = [runuser, "-u", "postgres", "--"]
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        # No TCP listener: the port only names the socket file in our private directory.
        port = 5432
        options = (
            f"-p {port} -k {self.sockets} -c listen_addresses='' -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        self.url = f"postgresql+psycopg://postgres@/postgres?host={self.sockets}&port={port}"
        return self.url

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_user, str(self.bindir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.base)
        if result.returncode != 0:
            log = self.base / "server.log"
            server_log = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                f"{server_log}"
            )


_server: ThrowawayServer | None = None
_failure: str | None = None


def server_url() -> str:
    """A superuser URL: ``TEST_DATABASE_URL``, else the throwaway server's (started on
    first use). Without either, the test is skipped (failed in CI)."""
    global _server, _failure
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"]
    if _server is not None:
        return _server.url
    if _failure is not None:
        raise RuntimeError(_failure)
    bindir = server_bindir()
    if bindir is None:
        skip_or_fail(POSTGRES_MISSING)
    server = ThrowawayServer(bindir)
    try:
        server.start()
    except RuntimeError as exc:
        server.stop()
        _failure = f"could not start a throwaway PostgreSQL from {bindir}: {exc}"
        raise RuntimeError(_failure) from None
    _server = server
    atexit.register(stop_server)
    return server.url


def stop_server() -> None:
    """Stop the throwaway server, if one was started (at the end of the test session)."""
    global _server
    if _server is not None:
        _server.stop()
        _server = None


@contextmanager
def postgres_database(admin_url: str | None = None, template: str = "") -> Iterator[str]:
    """A fresh PostgreSQL database, empty or a copy of ``template``; dropped afterwards.
    Yields its URL.

    On ``admin_url`` if given, else on :func:`server_url`'s server.
    """
    admin_url = admin_url or server_url()
    name = "t_" + uuid.uuid4().hex[:16]
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    url = sa.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def both_databases() -> pytest.MarkDecorator:
    """Run a test on SQLite and on PostgreSQL: parametrizes the ``database`` fixture."""
    postgresql = pytest.param("postgresql", marks=pytest.mark.postgres)
    return pytest.mark.parametrize("database", ["sqlite", postgresql], indirect=True)


BOTH_DATABASES = both_databases()
