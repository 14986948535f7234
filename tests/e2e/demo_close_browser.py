"""`make demo-close-browser`: the close-the-browser demo, scripted, against `make run`.

A headless Chromium buys something, clicks **Complete purchase** and closes the tab while the
sandbox holds back the browser's `done` callback. The order still turns paid, by Avarda's
server-side callback alone. The script prints the order's timeline as the shop tells it and
saves a screenshot of the order page.

Settings come from the environment or `instance/settings.env`, as for `make run`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import requests
from dotenv import dotenv_values
from playwright.sync_api import expect, sync_playwright

from tests.e2e.shopper import Shopper
from tests.harness import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING, ROOT, chromium_available

DONE_DELAY = 30


def settings() -> dict[str, str]:
    values = {k: v for k, v in dotenv_values(ROOT / "instance" / "settings.env").items() if v}
    values.update({k: v for k, v in os.environ.items() if k in values or k.endswith("_PORT")})
    shop_port = values.get("SHOP_PORT", "5000")
    sandbox_port = values.get("SANDBOX_PORT", "5001")
    values.setdefault("SHOP_PUBLIC_URL", f"http://127.0.0.1:{shop_port}")
    values.setdefault("SANDBOX_URL", f"http://127.0.0.1:{sandbox_port}")
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshot", type=Path, default=ROOT / "docs" / "order-page.png")
    args = parser.parse_args()
    if not chromium_available():
        print(CHROMIUM_MISSING, file=sys.stderr)
        return 2
    cfg = settings()
    shop, sandbox = cfg["SHOP_PUBLIC_URL"], cfg["SANDBOX_URL"]
    admin = (cfg["SANDBOX_ADMIN_USERNAME"], cfg["SANDBOX_ADMIN_PASSWORD"])
    merchant_url = f"{sandbox}/CheckOut2/Sandbox/Api/Merchants/{cfg['AVARDA_SITE_CODE']}"
    try:
        requests.get(shop + "/healthz", timeout=3).raise_for_status()
        requests.get(sandbox + "/healthz", timeout=3).raise_for_status()
    except requests.RequestException as exc:
        print(f"The demo is not running ({exc.__class__.__name__}): start `make run` first.")
        return 2

    previous = requests.get(merchant_url, auth=admin, timeout=5).json()
    requests.put(merchant_url, json={"done_delay_seconds": DONE_DELAY}, auth=admin, timeout=5)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context()
            shopper = Shopper(context.new_page(), shop)
            shopper.fill_cart()
            token = shopper.go_to_checkout()
            print(f"1. Order {token[:8]}… is at the checkout; paying by invoice.")
            shopper.complete_purchase("Invoice")
            expect(shopper.form.get_by_text("Close this tab")).to_be_visible()
            context.close()
            print("2. Clicked Complete purchase and closed the tab before done() could run.")

            deadline = time.monotonic() + 60
            status = requests.get(f"{shop}/orders/{token}/status", timeout=5).json()
            while status["state"] == "pending" and time.monotonic() < deadline:
                time.sleep(0.25)
                status = requests.get(f"{shop}/orders/{token}/status", timeout=5).json()
            print(f"3. The shop says: {status['state']}, confirmed by {status['confirmed_by']}.")

            viewer = browser.new_context(viewport={"width": 1000, "height": 900})
            page = viewer.new_page()
            page.goto(f"{shop}/orders/{token}")
            print("4. The order page (opened later, in a new browser) says:")
            print("   " + page.locator("[data-headline]").inner_text())
            for line in page.locator("[data-timeline] li").all_inner_texts():
                print("   -", line)
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.screenshot), full_page=True)
            print(f"   screenshot: {args.screenshot}")
            browser.close()
    finally:
        restore = {"done_delay_seconds": previous.get("done_delay_seconds", 0)}
        requests.put(merchant_url, json=restore, auth=admin, timeout=5)
    return 0 if status["state"] == "paid" else 1


if __name__ == "__main__":
    sys.exit(main())
