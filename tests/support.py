"""Test helpers shared by every suite: real sockets, polls with deadlines, processes.

Nothing here sleeps to synchronise: servers are bound before they are returned, and
waiting is always a poll of an observable condition with a deadline.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, message: str = ""
) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {message or predicate}")
        time.sleep(interval)
        last = predicate()
    return last


@contextmanager
def serve_wsgi(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve a WSGI app on a free port in a thread; yields its base URL.

    ``make_server`` binds and listens before it returns, so the URL is usable at once.
    """
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def skip_or_fail(reason: str) -> None:
    """Skip locally; in CI a skip is a failure (CI installs everything)."""
    import pytest

    if IN_CI:
        pytest.fail(f"{reason} (CI must run every test)")
    pytest.skip(reason)


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists()


CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM}: install it with `sudo apt-get install chromium` "
    "(or set CHROMIUM_PATH) to run the browser tests"
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def postgres_database(admin_url: str | None = None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards.

    Needs ``admin_url`` or ``TEST_DATABASE_URL`` pointing at a server where the user may
    create databases; without either, the test is skipped (failed in CI).
    """
    admin_url = admin_url or os.environ.get("TEST_DATABASE_URL")
    if not admin_url:
        skip_or_fail("TEST_DATABASE_URL is not set: PostgreSQL tests need a server")
    name = "t_" + uuid.uuid4().hex[:16]
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Process:
    """A child process (gunicorn, a worker) with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT):
        self.args, self.env, self.log, self.cwd = args, env, log, cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        self._fh = open(self.log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_fh", None):
            self._fh.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def gunicorn(
    target: str, port: int, env: dict[str, str], log: Path, workers: int = 2, threads: int = 1
) -> Process:
    """Start gunicorn on 127.0.0.1:port and wait until /healthz answers."""
    args = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
        "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "3", target,
    ]  # fmt: skip
    proc = Process(args, env, log).start()
    url = f"http://127.0.0.1:{port}/healthz"

    def healthy() -> bool:
        if proc.proc and proc.proc.poll() is not None:
            raise AssertionError(f"{target} exited early:\n{proc.output()}")
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_until(healthy, timeout=30, interval=0.05, message=f"{target} healthy")
    return proc
