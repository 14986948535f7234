"""The core is copy-ready: the guide's copy command, run as written, gives a project in
which the core runs under another package name with no ``shop`` and no Flask anywhere
on the path: checkout, the callback's checks and the confirm step on a plain SQLAlchemy
session with SQLite, against an Avarda stub over HTTP."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
import tomllib
from decimal import Decimal

from werkzeug import Request, Response

from tests.integration.copying import ROOT, copy_core, copy_set

PID = "5f0c1e2d3a4b5c6d7e8f9a0b1c2d3e4f"
PACKAGE = "payments"


SCRIPT = textwrap.dedent(
    """
    import base64, importlib.util, json, sys
    from pathlib import Path

    assert importlib.util.find_spec("shop") is None, "the shop is on the path"

    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from common.db import configure_sqlite
    from payments.avarda import (
        AvardaClient, CallbackAuthenticator, CallbackCredentials, accept_purchase_completed,
    )
    from payments.catalog import get_product_by_sku, seed_catalogue
    from payments.models import Base, ConfirmPath, Order, OrderEvent, OutboxEmail
    from payments.orders.checkout import begin_checkout
    from payments.orders.confirm import confirm_purchase

    avarda_url, database = sys.argv[1], sys.argv[2]
    engine = sa.create_engine(f"sqlite:///{database}")
    configure_sqlite(engine)
    Base.metadata.create_all(engine)
    client = AvardaClient(avarda_url, "site", "pw", timeout=5, status_timeout=5)
    authenticator = CallbackAuthenticator(CallbackCredentials(username="avarda", password="s3"))

    with Session(engine, expire_on_commit=False) as session:
        seed_catalogue(session)
        mug = get_product_by_sku(session, "MUG-01")
        checkout = begin_checkout(session, client, [(mug.id, 2)], None, language="sv-SE")

        body = json.dumps({"purchaseId": checkout.purchase_id}).encode()
        purchase_id = accept_purchase_completed(
            authorization="Basic " + base64.b64encode(b"avarda:s3").decode(),
            content_type="application/json",
            content_length=len(body),
            read_body=lambda limit: body[:limit],
            authenticator=authenticator,
        )
        by_callback = confirm_purchase(
            session, client, purchase_id, ConfirmPath.CALLBACK, shop_url="https://shop.example"
        )
        by_browser = confirm_purchase(
            session, client, purchase_id, ConfirmPath.BROWSER, shop_url="https://shop.example"
        )
        order = session.scalars(sa.select(Order)).one()
        email = session.scalars(sa.select(OutboxEmail)).one()
        paths = session.scalars(sa.select(OrderEvent.path).order_by(OrderEvent.id)).all()
        print(json.dumps({
            "outcomes": [by_callback.outcome, by_browser.outcome],
            "state": order.state,
            "confirmed_by": order.confirmed_by,
            "paths": list(paths),
            "stock": get_product_by_sku(session, "MUG-01").stock,
            "email": [email.to_address, order.number in email.subject, order.token in email.body],
            "loaded": sorted({m.split(".")[0] for m in sys.modules} & {"flask", "shop"}),
        }))
    """
)


class StubAvarda:
    """InitializePayment answers one purchase id; GetPaymentStatus reports it Completed
    at the price and order reference the shop sent."""

    def __init__(self) -> None:
        self.initialized: dict[str, object] = {}

    def initialize(self, request: Request) -> Response:
        self.initialized = json.loads(request.get_data(), parse_float=Decimal)
        return Response(json.dumps(PID), content_type="application/json")

    def status(self, request: Request) -> Response:
        assert json.loads(request.get_data()) == {"PurchaseId": PID}
        body = {
            "PurchaseId": PID,
            "State": 2,
            "PaymentMethod": 0,
            "Price": str(self.initialized["Price"]),
            "OrderReference": self.initialized["OrderReference"],
            "Mail": "customer@example.com",
        }
        return Response(json.dumps(body), content_type="application/json")


def test_the_guides_copy_runs_the_confirm_step_under_another_name(tmp_path, httpserver):
    stub = StubAvarda()
    api = "/CheckOut2/CheckOut2Api/"
    httpserver.expect_request(api + "InitializePayment").respond_with_handler(stub.initialize)
    httpserver.expect_request(api + "GetPaymentStatus").respond_with_handler(stub.status)
    project = tmp_path / "project"
    copy_core(project, PACKAGE)
    (project / "check.py").write_text(SCRIPT)

    # -E -s: no PYTHONPATH, no user site; only the script's folder (the project) is on
    # the path, as for any project's entry point.
    result = subprocess.run(
        [sys.executable, "-E", "-s", "check.py", httpserver.url_for("/CheckOut2"), "core.db"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "outcomes": ["confirmed_now", "already_confirmed"],
        "state": "paid",
        "confirmed_by": "callback",
        "paths": ["callback", "browser"],
        "stock": 48,
        "email": ["customer@example.com", True, True],
        "loaded": [],
    }
    assert stub.initialized["Price"] == Decimal("298.00")
    assert stub.initialized["UserLanguageCode"] == "sv-SE"


def test_the_copy_set_imports_itself_only_relatively():
    """An absolute ``shop`` import in a copied module breaks the copy under another name
    (import-linter keeps the rest: no Flask, nothing of the shop outside the set)."""
    paths = copy_set()
    assert [path for path in paths if not path.exists()] == []
    modules = [
        source
        for path in paths
        for source in (sorted(path.rglob("*.py")) if path.is_dir() else [path])
    ]
    assert {path.name for path in modules} >= {"confirm.py", "models.py", "client.py"}
    absolute = []
    for source in modules:
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            absolute += [
                f"{source.relative_to(ROOT)}:{node.lineno}"
                for name in names
                if name == "shop" or name.startswith("shop.")
            ]
    assert absolute == []


def test_the_copy_set_is_what_import_linter_keeps_apart():
    """The guide's list and the contract that keeps the rest of the shop out of it name
    the same modules (a new core module is added to both, or to neither)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["name"].startswith("The copied core")
    ]
    copied = {".".join(path.relative_to(ROOT).with_suffix("").parts) for path in copy_set()}
    assert set(contract["source_modules"]) == copied
    shop_modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "shop").iterdir()
        if path.name != "__init__.py"
        and (path.suffix == ".py" or path.is_dir())
        and path.name != "__pycache__"
    }
    assert set(contract["forbidden_modules"]) == shop_modules - copied
