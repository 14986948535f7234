"""Scenario 5: the storefront at 8 connections: the catalogue, a product page, the cart
and the checkout page.

The cart and checkout requests carry the session cookie of a customer with one mug in
the cart (added through the real form, CSRF token included). The cookie holds no order
yet, so every checkout request starts an order and calls InitializePayment, as a new
customer's first visit does. Avarda's own latency is measured the same way: wrk on the
sandbox's InitializePayment with the body the shop sends, at the same concurrency.
Target: checkout p50 within 30 ms plus Avarda's own p50.
"""

from __future__ import annotations

import base64
import re
import statistics
from decimal import Decimal

import requests

from bench.env import BenchEnv
from bench.load import Load, run_wrk
from bench.options import Options
from bench.report import Row, Section
from shop.avarda import InitializePayment, Item

CONCURRENCY = 8
SKU = "MUG-01"
PAGES = {
    "catalogue": "/",
    "product": f"/products/{SKU}",
    "cart": "/cart",
    "checkout": "/checkout",
}
AVARDA = "Avarda InitializePayment"
TARGET_MS = 30


def run(env: BenchEnv, options: Options) -> Section:
    env.stack.start("shop", "sandbox")
    env.stock_up()
    cookie = _cart_cookie(env.stack.shop_url)
    site = base64.b64encode(":".join(env.stack.site_auth).encode()).decode()
    body = _initialize_payment_body()

    def load(name: str, seconds: int) -> Load:
        if name == AVARDA:
            return run_wrk(
                env.stack.avarda_url,
                label=name,
                concurrency=CONCURRENCY,
                seconds=seconds,
                method="POST",
                path="/CheckOut2/CheckOut2Api/InitializePayment",
                body=body,
                headers={"Authorization": f"Basic {site}", "Content-Type": "application/json"},
            )
        return run_wrk(
            env.stack.shop_url,
            label=name,
            concurrency=CONCURRENCY,
            seconds=seconds,
            path=PAGES[name],
            headers={"Cookie": cookie},
        )

    names = [*PAGES, AVARDA]
    for name in names:
        load(name, options.warmup_seconds)
    runs: dict[str, list[Load]] = {name: [] for name in names}
    for _round in range(options.rounds):
        for name in names:
            runs[name].append(load(name, options.seconds))
    env.stack.stop_all()

    avarda_p50 = statistics.median(r.percentile(50) for r in runs[AVARDA])
    section = Section("5. Storefront")
    for name in names:
        rate = statistics.median(r.rate for r in runs[name])
        p50 = statistics.median(r.percentile(50) for r in runs[name])
        p99 = statistics.median(r.percentile(99) for r in runs[name])
        errors = sum(r.error_count for r in runs[name])
        requests_ = sum(r.requests for r in runs[name])
        checkout = name == "checkout"
        scenario = f"5. Storefront, {name} (c={CONCURRENCY})"
        section.rows += [
            Row(scenario, "throughput (req/s)", f"{rate:.0f}"),
            Row(
                scenario,
                "p50 (ms)",
                f"{p50:.1f}",
                target=f"<= {TARGET_MS} + Avarda's p50 = {TARGET_MS + avarda_p50:.0f}"
                if checkout
                else "",
                met=p50 <= TARGET_MS + avarda_p50 if checkout else None,
            ),
            Row(scenario, "p99 (ms)", f"{p99:.1f}"),
            Row(
                scenario, "errors / requests", f"{errors} / {requests_}", target="0", met=not errors
            ),
        ]
    section.notes.append(
        "Each checkout request starts an order and calls InitializePayment (the cookie's cart "
        "has no order yet); Avarda's own latency is wrk on the sandbox's InitializePayment at "
        f"the same concurrency. {options.rounds} rounds of {options.seconds} s, medians."
    )
    return section


def _cart_cookie(shop_url: str) -> str:
    """A customer's session cookie with one mug in the cart, made through the form."""
    with requests.Session() as http:
        page = http.get(f"{shop_url}/products/{SKU}", timeout=10)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert token, "the product page has a CSRF token"
        added = http.post(
            f"{shop_url}/cart/add",
            data={"sku": SKU, "quantity": "1", "csrf_token": token.group(1)},
            timeout=10,
        )
        assert added.status_code == 200, added.status_code  # the product page, flash shown
        return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def _initialize_payment_body() -> str:
    """InitializePayment as the shop sends it for one mug."""
    return InitializePayment(
        price=Decimal("199.00"),
        items=[
            Item(
                description="Mug",
                notes=f"{SKU} x 1",
                amount=Decimal("199.00"),
                tax_code="25",
                tax_amount=Decimal("39.80"),
            )
        ],
        order_reference="BENCH-1",
        user_language_code="en-US",
    ).to_json()
