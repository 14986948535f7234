"""The whole demo as `make run` starts it, for the end-to-end tests and the scripted demo.

Every process is started from its line in the ``Procfile`` (through ``sh -c``, as honcho
does), so the tests run exactly what a newcomer runs, not a variant of it. Settings go in
the environment, so nothing is written to the developer's ``instance/``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support import ROOT, Process, free_port, wait_until


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


@dataclass
class Stack:
    """Shop, sandbox, delivery worker and sweeper on free loopback ports."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, Process] = field(default_factory=dict)

    @classmethod
    def create(cls, workdir: Path, **overrides: str) -> Stack:
        shop_port, sandbox_port = free_port(), free_port()
        bin_dir = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "SHOP_PORT": str(shop_port),
            "SANDBOX_PORT": str(sandbox_port),
            "SHOP_PUBLIC_URL": f"http://127.0.0.1:{shop_port}",
            "AVARDA_BASE_URL": f"http://127.0.0.1:{sandbox_port}/CheckOut2",
            "DATABASE_URL": f"sqlite:///{workdir / 'shop.db'}",
            "SANDBOX_DATABASE_URL": f"sqlite:///{workdir / 'sandbox.db'}",
            "SECRET_KEY": secrets.token_hex(16),
            "SANDBOX_SECRET_KEY": secrets.token_hex(16),
            "AVARDA_SITE_CODE": "e2e-shop",
            "AVARDA_SITE_PASSWORD": secrets.token_urlsafe(16),
            "CALLBACK_USERNAME": "avarda",
            "CALLBACK_PASSWORD": secrets.token_urlsafe(16),
            "ADMIN_EMAIL": "admin@example.com",
            "ADMIN_PASSWORD": secrets.token_urlsafe(12),
            "SANDBOX_ADMIN_USERNAME": "sandbox",
            "SANDBOX_ADMIN_PASSWORD": secrets.token_urlsafe(12),
            "MAIL_DIR": str(workdir / "mail"),
            "DELIVERY_POLL_SECONDS": "0.1",
            "SWEEP_EVERY_SECONDS": "1",
            "RECONCILE_MIN_AGE": "6",
            "PYTHONUNBUFFERED": "1",
            **overrides,
        }
        env.pop("FLASK_APP", None)
        return cls(workdir=workdir, env=env)

    @property
    def shop_url(self) -> str:
        return self.env["SHOP_PUBLIC_URL"]

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.env['SANDBOX_PORT']}"

    @property
    def sandbox_admin(self) -> tuple[str, str]:
        return self.env["SANDBOX_ADMIN_USERNAME"], self.env["SANDBOX_ADMIN_PASSWORD"]

    def setup(self) -> None:
        subprocess.run(
            [sys.executable, "-c", "import wsgi; wsgi.setup(generate_settings=False)"],
            cwd=ROOT, env=self.env, check=True, capture_output=True,
        )  # fmt: skip

    def start(self, name: str) -> Process:
        """Start one Procfile entry; web processes are waited for until /healthz answers."""
        command = procfile()[name]
        proc = Process(["sh", "-c", "exec " + command], self.env, self.workdir / f"{name}.log")
        proc.start()
        self.procs[name] = proc
        health = {"shop": self.shop_url, "sandbox": self.sandbox_url}.get(name)
        if health:

            def healthy() -> bool:
                if proc.proc and proc.proc.poll() is not None:
                    raise AssertionError(f"{name} exited early:\n{proc.output()}")
                try:
                    return requests.get(health + "/healthz", timeout=1).status_code == 200
                except requests.RequestException:
                    return False

            wait_until(healthy, timeout=30, interval=0.05, message=f"{name} is healthy")
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc:
            proc.stop()

    def kill(self, name: str) -> None:
        """``kill -9`` the process and all its children (gunicorn's workers too)."""
        proc = self.procs.pop(name, None)
        if proc:
            proc.kill()
            proc.stop()

    def start_all(self) -> Stack:
        self.setup()
        for name in procfile():
            self.start(name)
        return self

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )

    # Sandbox admin API -------------------------------------------------------------
    def merchant(self, **settings) -> dict:
        """PUT the demo merchant's settings/faults (partial update); returns them."""
        url = f"{self.sandbox_url}/CheckOut2/Sandbox/Api/Merchants/{self.env['AVARDA_SITE_CODE']}"
        r = requests.put(url, json=settings, auth=self.sandbox_admin, timeout=5)
        r.raise_for_status()
        return r.json()

    def purchase(self, purchase_id: str) -> dict:
        url = f"{self.sandbox_url}/CheckOut2/Sandbox/Api/Purchases/{purchase_id}"
        r = requests.get(url, auth=self.sandbox_admin, timeout=5)
        r.raise_for_status()
        return r.json()

    # Shop ----------------------------------------------------------------------------
    def order_status(self, token: str) -> dict:
        r = requests.get(f"{self.shop_url}/orders/{token}/status", timeout=5)
        r.raise_for_status()
        return r.json()
