"""The guide's FastAPI and Django sketches run as written against the sandbox.

The core is copied with the guide's command under another name (``payments``), the
sketch beside it; a subprocess with no ``shop`` on the path builds the sketch's app on a
plain SQLite session, starts a purchase at the sandbox, and drives the callback endpoint
and the done page through the framework's own test client, as Avarda and the browser
would: refusals before the body is read, "not yet" before the customer pays, the
callback confirming and the browser finding it paid.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.integration.copying import ROOT, copy_core

SCRIPT = textwrap.dedent(
    """
    import base64, importlib.util, json, sys
    import requests
    import sqlalchemy as sa
    from sqlalchemy.orm import sessionmaker

    assert importlib.util.find_spec("shop") is None, "the shop is on the path"
    from common.db import configure_sqlite
    from payments.avarda import AvardaClient, CallbackAuthenticator, CallbackCredentials
    from payments.catalog import get_product_by_sku, seed_catalogue
    from payments.models import Base, Order
    from payments.orders.checkout import begin_checkout

    framework, config = sys.argv[1], json.loads(sys.argv[2])
    engine = sa.create_engine("sqlite:///shop.db")
    configure_sqlite(engine)
    Base.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    client = AvardaClient(config["avarda_url"], *config["site_auth"])
    user, password = config["callback_auth"]
    authenticator = CallbackAuthenticator(CallbackCredentials(username=user, password=password))
    shop_url = "https://shop.example"

    if framework == "fastapi":
        from fastapi.testclient import TestClient
        import fastapi_shop

        app = fastapi_shop.create_app(sessions, client, authenticator, shop_url=shop_url)
        http = TestClient(app)

        def post(body, headers):
            r = http.post("/avarda/purchase-completed", content=body, headers=headers)
            return r.status_code, r.text, dict(r.headers)

        def get(path):
            r = http.get(path)
            return r.status_code, r.text
    else:
        from django.conf import settings
        settings.configure(
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            SECRET_KEY="sketch-" + "x" * 50,
            MIDDLEWARE=[
                "django.middleware.common.CommonMiddleware",
                "django.middleware.csrf.CsrfViewMiddleware",
            ],
        )
        import django
        django.setup()
        from django.test import Client
        import django_shop

        urlpatterns = django_shop.avarda_urls(
            django_shop.Payments(sessions, client, authenticator, shop_url)
        )
        http = Client(enforce_csrf_checks=True)

        def post(body, headers):
            kind = headers.pop("Content-Type", "")
            r = http.generic("POST", "/avarda/purchase-completed", body, kind, headers=headers)
            return r.status_code, r.content.decode(), dict(r.headers)

        def get(path):
            r = http.get(path)
            return r.status_code, r.content.decode()

    basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    JSON = "application/json"

    def callback(purchase_id, authorization=basic, content_type=JSON, body=None):
        headers = {"Content-Type": content_type}
        if authorization:
            headers["Authorization"] = authorization
        body = json.dumps({"purchaseId": purchase_id}).encode() if body is None else body
        status, text, response_headers = post(body, headers)
        try:
            word = json.loads(text).get("outcome") or json.loads(text).get("error")
        except ValueError:
            word = text[:40]
        retry = {k.lower(): v for k, v in response_headers.items()}.get("retry-after")
        return [status, word, retry]

    with sessions() as session:
        seed_catalogue(session)
        mug = get_product_by_sku(session, "MUG-01")
        purchase_id = begin_checkout(session, client, [(mug.id, 1)], None).purchase_id

    wrong = "Basic " + base64.b64encode(b"avarda:no").decode()
    padded = b" " * 5000 + json.dumps({"purchaseId": purchase_id}).encode()
    twice = b'{"purchaseId": "%s", "purchaseId": "x"}' % purchase_id.encode()
    seen = {
        "anonymous, not JSON": callback(purchase_id, authorization=None, body=b"{not json"),
        "wrong password": callback(purchase_id, authorization=wrong),
        "text/plain": callback(purchase_id, content_type="text/plain"),
        "too large": callback(purchase_id, body=padded),
        "duplicate keys": callback(purchase_id, body=twice),
        "unknown purchase": callback("0" * 32),
        "before paying": callback(purchase_id),
    }
    completed = requests.post(
        f"{config['avarda_url']}/Sandbox/Api/Purchases/{purchase_id}/Complete",
        json={"PaymentMethod": "Invoice"},
        auth=tuple(config["sandbox_admin"]),
        timeout=10,
    )
    assert completed.status_code == 200, completed.text
    seen["paid"] = callback(purchase_id)
    seen["again"] = callback(purchase_id)
    done_status, done_page = get(f"/checkout/done?purchaseId={purchase_id}")
    seen["done page"] = [done_status, "Payment confirmed" in done_page]
    seen["done, not an id"] = get("/checkout/done?purchaseId=x")[0]
    seen["done, unknown"] = get("/checkout/done?purchaseId=" + "1" * 32)[0]
    with sessions() as session:
        order = session.scalars(sa.select(Order)).one()
        seen["order"] = [order.state, order.confirmed_by]
    print(json.dumps(seen))
    """
)

SKETCHES = {"fastapi": "fastapi_shop.py", "django": "django_shop.py"}


@pytest.mark.parametrize("framework", sorted(SKETCHES))
def test_the_sketch_runs_against_the_sandbox(framework, stack, tmp_path):
    project = tmp_path / "project"
    copy_core(project, "payments")
    shutil.copy(ROOT / "docs" / "examples" / SKETCHES[framework], project)
    (project / "run.py").write_text(SCRIPT)
    config = {
        "avarda_url": stack.avarda_url,
        "site_auth": stack.site_auth,
        "callback_auth": stack.callback_auth,
        "sandbox_admin": stack.sandbox_admin,
    }

    result = subprocess.run(
        [sys.executable, "-E", "-s", "run.py", framework, json.dumps(config)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    assert json.loads(result.stdout) == {
        "anonymous, not JSON": [401, "unauthorized", None],
        "wrong password": [401, "unauthorized", None],
        "text/plain": [415, "unsupported_media_type", None],
        "too large": [413, "too_large", None],
        "duplicate keys": [400, "bad_request", None],
        "unknown purchase": [404, "unknown_purchase", None],
        "before paying": [503, "pending", "60"],
        "paid": [200, "confirmed_now", None],
        "again": [200, "already_confirmed", None],
        "done page": [200, True],
        "done, not an id": 400,
        "done, unknown": 404,
        "order": ["paid", "callback"],
    }
