"""Child processes for the tests: the Procfile's entries, each in its own process group."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import IO

from tests.harness.common import ROOT


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    """The Procfile's entries, name -> command line, in file order."""
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


class Process:
    """A child process (gunicorn, a worker) with its output appended to a log file.

    It runs in a new session, so signals reach the whole group (gunicorn's workers too).
    """

    def __init__(self, args: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT):
        self.args, self.env, self.log, self.cwd = args, env, log, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self._fh: IO[bytes] | None = None

    def start(self) -> Process:
        self._fh = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the process group, if it still runs."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """``kill -9`` the group (by default) and wait for the process to be gone."""
        self.send_signal(sig)
        if self.proc:
            self.proc.wait(10)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (a graceful stop, as honcho does on Ctrl-C), then SIGKILL after ``timeout``."""
        self.send_signal(signal.SIGTERM)
        self.wait_stopped(timeout)

    def wait_stopped(self, timeout: float = 10) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._fh:
            self._fh.close()
            self._fh = None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
