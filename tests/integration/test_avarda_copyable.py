"""``shop/avarda/`` is copy-ready: copied alone into another project, under another name,
it imports and works with no ``shop`` and no Flask anywhere on the path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import shop.avarda

PID = "19ac0d1ee909c302d212b4324d9194b5"

SCRIPT = textwrap.dedent(
    """
    import base64, importlib.util, json, sys
    from decimal import Decimal

    assert importlib.util.find_spec("shop") is None, "the shop is on the path"
    import payments_avarda as avarda
    from payments_avarda.callback import BadCallback

    client = avarda.AvardaClient(sys.argv[1], "site", "pw", status_timeout=5)
    status = client.get_payment_status(sys.argv[2])

    creds = avarda.CallbackCredentials(username="avarda", password="secret")
    header = "Basic " + base64.b64encode(b"avarda:secret").decode()
    purchase_id = avarda.accept_purchase_completed(
        authorization=header,
        content_type="application/json",
        content_length=None,
        read_body=lambda limit: json.dumps({"purchaseId": sys.argv[2]}).encode(),
        authenticator=avarda.CallbackAuthenticator(creds),
    )
    try:
        avarda.callback.parse_purchase_completed(b'{"purchaseId": "x", "purchaseId": "y"}')
    except BadCallback as exc:
        refused = exc.status
    request = avarda.InitializePayment(
        price=Decimal("1.00"),
        items=[avarda.Item(description="x", amount=Decimal("1.00"))],
        user_language_code="sv-SE",
    )
    print(json.dumps({
        "state": status.state.label,
        "method": status.payment_method.label,
        "price": str(status.price),
        "callback": purchase_id,
        "refused": refused,
        "body": request.to_json(),
        "flask": "flask" in sys.modules,
        "shop": any(name == "shop" or name.startswith("shop.") for name in sys.modules),
    }))
    """
)


def test_the_folder_runs_as_a_top_level_package_elsewhere(tmp_path: Path, httpserver):
    package = Path(shop.avarda.__file__).parent
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(package, tmp_path / "payments_avarda", ignore=ignore)
    (tmp_path / "check.py").write_text(SCRIPT)
    httpserver.expect_request("/CheckOut2/CheckOut2Api/GetPaymentStatus").respond_with_json(
        {"PurchaseId": PID, "State": "2", "PaymentMethod": 12, "Price": "249.00"}
    )

    # -E -s: no PYTHONPATH, no user site; only the script's own folder (tmp_path) is on
    # the path, as for any project's entry point.
    command = [sys.executable, "-E", "-s", str(tmp_path / "check.py")]
    result = subprocess.run(
        [*command, httpserver.url_for("/CheckOut2"), PID],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "state": "Completed",
        "method": "MobilePay",
        "price": "249.00",
        "callback": PID,
        "refused": 400,
        "body": '{"Price": 1.00, "Items": [{"Description": "x", "Amount": 1.00, "Notes": ""}],'
        ' "UserLanguageCode": "sv-SE"}',
        "flask": False,
        "shop": False,
    }


def test_no_module_of_the_package_imports_the_shop_by_name():
    package = Path(shop.avarda.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text()
        assert "from shop" not in text and "import shop" not in text, source.name
