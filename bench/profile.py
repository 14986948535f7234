"""Where the callback path's time goes: CPU per request of the shop's callback and of the
baseline, in this process, each part apart, then a cProfile of the shop's.

    make bench-profile                 # or: python -m bench.profile --requests 600

The sandbox runs as a process (the Procfile's); the shop and the baseline run in this
process behind Flask's test client, so what is measured is their own CPU time per
request (``time.process_time``), without gunicorn, wrk or the sandbox. That is the part
scenario 1 compares: on a 2-core machine every millisecond of CPU per request is
throughput taken from the other processes. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from bench import baseline
from bench.env import BenchEnv

PATH = "/avarda/purchase-completed"


def cpu_ms(work: Callable[[int], object], n: int) -> float:
    """Mean CPU milliseconds of ``work(i)`` over ``n`` calls (after one warm-up call)."""
    work(0)
    started = time.process_time()
    for i in range(n):
        work(i)
    return (time.process_time() - started) / n * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--requests", type=int, default=600, help="per measurement")
    parser.add_argument("--top", type=int, default=25, help="cProfile rows to print")
    args = parser.parse_args(argv)
    n = args.requests

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        env = BenchEnv(Path(tmp), "sqlite", None, None)
        try:
            env.stack.start("shop", "sandbox")
            env.stock_up()
            ids = env.paid_orders(30)
            headers = {"Authorization": env.authorization(), "Content-Type": "application/json"}

            def body(i: int) -> str:
                return json.dumps({"purchaseId": ids[i % len(ids)]})

            stack = env.stack
            base_env = {
                "BASELINE_DATABASE_URL": f"sqlite:///{Path(tmp) / 'baseline.db'}",
                "AVARDA_BASE_URL": stack.settings.avarda_url,
                "AVARDA_SITE_CODE": stack.site_auth[0],
                "AVARDA_SITE_PASSWORD": stack.site_auth[1],
                "CALLBACK_USERNAME": stack.callback_auth[0],
                "CALLBACK_PASSWORD": stack.callback_auth[1],
            }
            baseline.init_db(base_env["BASELINE_DATABASE_URL"], ids)
            base = baseline.create_app(base_env).test_client()
            shop = stack.shop_app.test_client()

            def post(client: object) -> Callable[[int], object]:
                return lambda i: client.post(PATH, data=body(i), headers=headers)  # type: ignore[attr-defined]

            rows = [
                ("baseline, whole request", cpu_ms(post(base), n)),
                ("shop, whole request", cpu_ms(post(shop), n)),
            ]
            rows += _parts(stack.shop_app, ids, n)
            http = requests.Session()
            http.auth = stack.site_auth
            http.trust_env = False
            url = stack.settings.avarda_url + "/CheckOut2Api/GetPaymentStatus"
            rows.append(
                (
                    "a bare requests POST of GetPaymentStatus",
                    cpu_ms(
                        lambda i: http.post(url, json={"PurchaseId": ids[i % 30]}, timeout=5), n
                    ),
                )
            )
            print(f"CPU per request ({n} requests each, this process only):")
            for name, ms in rows:
                print(f"  {name:<48} {ms:6.2f} ms")

            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for i in range(n):
                post(shop)(i)
            profile.disable()
            print(f"\ncProfile of the shop's callback, CPU time, {n} requests:")
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
        finally:
            env.close()
    return 0


def _parts(app: object, ids: list[str], n: int) -> list[tuple[str, float]]:
    from shop.extensions import callback_avarda_client, db
    from shop.models import ConfirmPath
    from shop.orders.confirm import confirm_purchase

    with app.app_context():  # type: ignore[attr-defined]
        client = callback_avarda_client()
        ask = cpu_ms(lambda i: client.get_payment_status(ids[i % len(ids)]), n)

        def confirm(i: int) -> object:
            return confirm_purchase(
                db.session(), client, ids[i % len(ids)], ConfirmPath.CALLBACK, shop_url="http://x"
            )

        whole = cpu_ms(confirm, n)
        db.session.remove()
    return [
        ("shop, the confirm step", whole),
        ("shop, its GetPaymentStatus (client)", ask),
        ("shop, the confirm step's database work", whole - ask),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
