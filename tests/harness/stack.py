"""The one test harness: the demo as ``make run`` runs it, for the integration tests, the
end-to-end tests and the benchmarks.

A :class:`Stack` is a working directory, a :class:`~tests.harness.settings.Settings` (the
one config factory) and the Procfile's processes, each started from its own command line
(through ``sh -c``, as honcho does) on free loopback ports, so the tests run exactly what a
newcomer runs::

    stack = Stack.create(tmp_path)             # SQLite; database_url=... for PostgreSQL
    stack.setup()                              # both databases, as `make run`'s setup does
    stack.start("shop", "sandbox")             # gunicorn; returns once /healthz answers
    stack.start("delivery", "sweeper", "mailer")
    ...
    stack.close()

Beside the processes a stack has in-process twins of both apps, built from the same
settings (:attr:`Stack.shop_app`, :attr:`Stack.sandbox_app`), for what a test reads or
drives directly: the databases, the Flask test client, one pass of a worker in the test's
own thread. :meth:`Stack.reset` puts both databases back as :meth:`Stack.setup` left them,
so one running stack serves many tests (see :class:`StackPool`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import requests
import sqlalchemy as sa

from tests.harness.common import free_port, wait_until
from tests.harness.databases import DatabaseSnapshot
from tests.harness.postgres import postgres_database
from tests.harness.processes import Process, procfile
from tests.harness.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

    from shop.orders.checkout import CheckoutSession

T = TypeVar("T")

CALLBACK_PATH = "/avarda/purchase-completed"
#: The web processes, and the attribute holding each one's URL.
WEB = {"shop": "shop_url", "sandbox": "sandbox_url"}
#: What a process takes from the test runner's environment; nothing else leaks in (a
#: developer's DATABASE_URL or MAIL_TRANSPORT must not reach the tests' shop).
INHERITED = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "SSL_CERT_FILE")


class Stack:
    """The shop, the sandbox and their workers for a test, and what a test does with them."""

    def __init__(self, workdir: Path, settings: Settings) -> None:
        self.workdir = workdir
        self.settings = settings
        self.procs: dict[str, Process] = {}
        self._snapshots: list[DatabaseSnapshot] = []

    @classmethod
    def create(cls, workdir: Path, database_url: str | None = None, **overrides: Any) -> Stack:
        """A stack in ``workdir`` (databases, logs, mail) on two free ports.

        ``database_url`` is the shop's database (default: SQLite in ``workdir``; the
        sandbox always uses SQLite there). ``overrides`` are settings by their environment
        names, typed (``RECONCILE_MIN_AGE=0``, ``SANDBOX_MERCHANTS=[...]``).
        """
        workdir.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            database_url=database_url or f"sqlite:///{workdir / 'shop.db'}",
            sandbox_database_url=f"sqlite:///{workdir / 'sandbox.db'}",
            shop_port=free_port(),
            sandbox_port=free_port(),
            overrides={"MAIL_DIR": str(workdir / "mail"), **overrides},
        )
        return cls(workdir, settings)

    # -- where things are -------------------------------------------------------------------
    @property
    def shop_url(self) -> str:
        return self.settings.shop_url

    @property
    def sandbox_url(self) -> str:
        return self.settings.sandbox_url

    @property
    def avarda_url(self) -> str:
        """The shop's ``AVARDA_BASE_URL``: ``sandbox_url + "/CheckOut2"``."""
        return self.settings.avarda_url

    @property
    def callback_url(self) -> str:
        return self.shop_url + CALLBACK_PATH

    @property
    def site_auth(self) -> tuple[str, str]:
        """The shop's login to Avarda's API (site code and password)."""
        values = self.settings.values()
        return values["AVARDA_SITE_CODE"], values["AVARDA_SITE_PASSWORD"]

    @property
    def callback_auth(self) -> tuple[str, str]:
        """What Avarda's callback sends (Basic) and the shop expects."""
        values = self.settings.values()
        return values["CALLBACK_USERNAME"], values["CALLBACK_PASSWORD"]

    @property
    def sandbox_admin(self) -> tuple[str, str]:
        values = self.settings.values()
        return values["SANDBOX_ADMIN_USERNAME"], values["SANDBOX_ADMIN_PASSWORD"]

    @property
    def mail_dir(self) -> Path:
        return Path(self.settings.values()["MAIL_DIR"])

    @property
    def env(self) -> dict[str, str]:
        """The processes' environment: the settings, ``.venv/bin`` first on PATH (the
        Procfile says ``gunicorn`` and ``flask``), and an instance folder of the stack's own
        (a developer's ``instance/settings.env`` must not fill in what a test left unset)."""
        inherited = {k: os.environ[k] for k in INHERITED if k in os.environ}
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        return {
            **inherited,
            "PATH": path,
            "PYTHONUNBUFFERED": "1",
            "INSTANCE_PATH": str(self.workdir / "instance"),
            **self.settings.env(),
        }

    # -- in-process twins -------------------------------------------------------------------
    @cached_property
    def shop_app(self) -> Flask:
        """The shop, in this process, on the same database and settings (CSRF off, so the
        test client can post forms)."""
        from shop import create_app

        return create_app(self.settings.shop_config(WTF_CSRF_ENABLED=False))

    @cached_property
    def sandbox_app(self) -> Flask:
        from sandbox import create_app

        return create_app(self.settings.sandbox_config())

    def setup(self) -> Stack:
        """Both databases as ``make run``'s setup step makes them (the shop migrated and
        seeded, the sandbox's tables and demo merchant); then a snapshot of each for
        :meth:`reset`."""
        from sandbox import init_db
        from shop import setup_database
        from shop.extensions import db

        with self.shop_app.app_context():
            setup_database()
            db.session.remove()
        with self.sandbox_app.app_context():
            init_db()
        self._snapshots = [
            DatabaseSnapshot(self.settings.database_url),
            DatabaseSnapshot(self.settings.sandbox_database_url),
        ]
        return self

    def reset(self) -> None:
        """Both databases back to what :meth:`setup` left, the mail directory empty.

        Stop the workers first (a test's fixture does): only idle web processes may keep
        running across a reset.
        """
        for snapshot in self._snapshots:
            snapshot.restore()
        shutil.rmtree(self.mail_dir, ignore_errors=True)

    # -- processes --------------------------------------------------------------------------
    def start(self, *names: str) -> Stack:
        """Start Procfile entries that are not running; web processes are waited for until
        ``/healthz`` answers."""
        commands = procfile()
        for name in names:
            if name not in commands:
                raise KeyError(f"{name!r} is not in the Procfile ({', '.join(commands)})")
            if name in self.procs and self.procs[name].running:
                continue
            if name in self.procs:
                self.procs.pop(name).wait_stopped(0)  # it exited by itself; its log stays
            args = ["sh", "-c", "exec " + commands[name]]
            log = self.workdir / f"{name}.log"
            self.procs[name] = Process(args, self.env, log).start()
        for name in names:
            if name in WEB:
                self._wait_healthy(name)
        return self

    def _wait_healthy(self, name: str) -> None:
        url = getattr(self, WEB[name]) + "/healthz"
        proc = self.procs[name]

        def healthy() -> bool:
            if not proc.running:
                raise AssertionError(f"{name} exited early:\n{proc.output()[-4000:]}")
            try:
                return requests.get(url, timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(healthy, timeout=30, interval=0.05, message=f"{name} answers /healthz")

    def start_all(self) -> Stack:
        """Every Procfile entry, as ``make run`` starts them."""
        return self.start(*procfile())

    def running(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.running]

    def stop(self, *names: str) -> None:
        """Stop these processes with SIGTERM, as honcho does, all at once."""
        procs = [self.procs.pop(n) for n in names if n in self.procs]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait_stopped()

    def stop_all(self) -> None:
        self.stop(*self.procs)

    def kill(self, *names: str) -> None:
        """``kill -9`` these processes and all their children (gunicorn's workers too)."""
        for name in names:
            proc = self.procs.pop(name, None)
            if proc:
                proc.kill()
                proc.wait_stopped(0)

    def close(self) -> None:
        """Kill every process (nothing of this stack outlives it: no graceful wait) and let
        go of the databases."""
        self.kill(*self.procs)
        for snapshot in self._snapshots:
            snapshot.close()
        if "shop_app" in self.__dict__:
            from shop.extensions import db as shop_db

            with self.shop_app.app_context():
                shop_db.engine.dispose()
        if "sandbox_app" in self.__dict__:
            from sandbox.db import db as sandbox_db

            with self.sandbox_app.app_context():
                sandbox_db.engine.dispose()

    def logs(self, tail: int = 4000) -> str:
        """The end of each process's log, for a failing test's report."""
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-tail:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )

    # -- the sandbox (Avarda) ---------------------------------------------------------------
    def sandbox_api(self, verb: str, path: str, **kwargs: Any) -> requests.Response:
        """The sandbox's admin API (``/CheckOut2/Sandbox/Api/<path>``), as its admin."""
        url = f"{self.avarda_url}/Sandbox/Api/{path}"
        return requests.request(verb, url, auth=self.sandbox_admin, timeout=10, **kwargs)

    def merchant(self, **settings: Any) -> dict[str, Any]:
        """Change the shop's merchant in the sandbox (retries, faults...); returns them all."""
        response = self.sandbox_api("PUT", f"Merchants/{self.site_auth[0]}", json=settings)
        assert response.status_code == 200, response.text
        return response.json()

    def purchase(self, purchase_id: str) -> dict[str, Any]:
        """The sandbox's view of a purchase, with its callback deliveries and attempts."""
        response = self.sandbox_api("GET", f"Purchases/{purchase_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def deliveries(self, purchase_id: str) -> list[dict[str, Any]]:
        return self.purchase(purchase_id)["deliveries"]

    def complete(
        self, purchase_id: str, method: str = "Invoice", callback: bool = True, **body: Any
    ) -> dict[str, Any]:
        """The scripted customer finishes Avarda's form, with or without subscribing to the
        server-side callback (as the shop's ``init`` call would)."""
        body = {"PaymentMethod": method, **body}
        if callback:
            body.setdefault("PurchaseCompletedCallbackUrl", self.callback_url)
        response = self.sandbox_api("POST", f"Purchases/{purchase_id}/Complete", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def run_delivery(self) -> int:
        """One pass of the delivery worker's code, in this thread; the number of attempts.
        (``start("delivery")`` runs the worker process instead.)"""
        from sandbox.delivery import deliver_due

        with self.sandbox_app.app_context():
            return deliver_due()

    def deliver_until_done(self, purchase_id: str, timeout: float = 15) -> list[dict[str, Any]]:
        """Run the worker until every delivery of the purchase is finished; returns them."""

        def finished() -> list[dict[str, Any]] | None:
            self.run_delivery()
            rows = self.deliveries(purchase_id)
            return rows if rows and all(d["status"] != "pending" for d in rows) else None

        return wait_until(finished, timeout=timeout, message="deliveries finished")

    # -- the shop ---------------------------------------------------------------------------
    def query(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the in-process shop's app context (to read or change the
        database directly); the session is removed afterwards."""
        from shop.extensions import db

        with self.shop_app.app_context():
            try:
                return fn(*args)
            finally:
                db.session.remove()

    def checkout(self, *lines: tuple[str, int]) -> CheckoutSession:
        """Start a checkout with the shop's own service (it calls the sandbox over HTTP)."""
        from shop.catalog import get_product_by_sku
        from shop.extensions import avarda_client, db
        from shop.orders.checkout import begin_checkout

        def begin() -> CheckoutSession:
            ids = [
                (get_product_by_sku(db.session(), sku).id, qty)
                for sku, qty in lines or [("MUG-01", 1)]
            ]
            return begin_checkout(db.session(), avarda_client(), ids, None)

        return self.query(begin)

    def done(self, purchase_id: str) -> requests.Response:
        """The browser returning to the shop (``done`` in ``init``)."""
        return requests.get(
            f"{self.shop_url}/checkout/done", params={"purchaseId": purchase_id}, timeout=10
        )

    def status(self, token: str) -> dict[str, Any]:
        """The order's status JSON, as the shop serves it."""
        response = requests.get(f"{self.shop_url}/orders/{token}/status", timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def order_page(self, token: str) -> str:
        response = requests.get(f"{self.shop_url}/orders/{token}", timeout=5)
        assert response.status_code == 200
        return response.text

    def facts(self, token: str) -> dict[str, Any]:
        """What the shop's database says about an order, read directly."""
        from shop.extensions import db
        from shop.models import Order, OrderEvent, OutboxEmail

        def read() -> dict[str, Any]:
            order = db.session.scalars(sa.select(Order).where(Order.token == token)).one()
            events = db.session.scalars(
                sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
            ).all()
            outcomes = [e.outcome for e in events]
            return {
                "number": order.number,
                "state": order.state,
                "confirmed_by": order.confirmed_by,
                "payment_method": order.payment_method,
                "customer_email": order.customer_email,
                "events": [(e.path, e.outcome) for e in events],
                "paid_transitions": outcomes.count("paid"),
                # Back-to-back identical browser returns count on one event (repeats).
                "notifications": sum(1 + e.repeats for e in events),
                "emails": db.session.scalar(
                    sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.order_id == order.id)
                ),
                "quantities": {line.sku: line.quantity for line in order.lines},
            }

        return self.query(read)

    def stock(self, sku: str) -> int:
        from shop.extensions import db
        from shop.models import Product

        return self.query(
            lambda: db.session.scalar(sa.select(Product.stock).where(Product.sku == sku))
        )

    def order_stock(self, token: str) -> dict[str, int]:
        """The stock of each product in an order, by SKU."""
        skus = self.facts(token)["quantities"]
        return {sku: self.stock(sku) for sku in skus}

    def snapshot(self) -> tuple[Any, ...]:
        """Every order's state, the counts of events and e-mails, every stock level: equal
        before and after a request that must change nothing."""
        from shop.extensions import db
        from shop.models import Order, OrderEvent, OutboxEmail, Product

        return self.query(
            lambda: (
                db.session.execute(sa.select(Order.id, Order.state, Order.updated_at)).all(),
                db.session.scalar(sa.select(sa.func.count(OrderEvent.id))),
                db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))),
                db.session.execute(sa.select(Product.id, Product.stock)).all(),
            )
        )


class StackPool:
    """Running stacks for a whole test session, one per database and settings.

    Starting gunicorn twice and migrating takes seconds; a test borrows a running stack
    and :meth:`Stack.reset` gives it fresh databases in milliseconds instead.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stacks: dict[str, Stack] = {}
        self._exit = ExitStack()

    def get(self, database: str = "sqlite", **overrides: Any) -> Stack:
        """The set-up stack for ``database`` ("sqlite" or "postgresql") and these settings
        (processes not started: a fixture starts what its tests need)."""
        key = json.dumps([database, overrides], sort_keys=True, default=str)
        stack = self._stacks.get(key)
        if stack is None:
            if database not in ("sqlite", "postgresql"):
                raise ValueError(f"unknown database {database!r}")
            url = (
                self._exit.enter_context(postgres_database()) if database == "postgresql" else None
            )
            stack = Stack.create(self.root / f"stack{len(self._stacks)}", url, **overrides)
            self._exit.callback(stack.close)
            stack.setup()
            self._stacks[key] = stack
        return stack

    def close(self) -> None:
        self._exit.close()
