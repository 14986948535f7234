"""`make demo-close-browser`: the close-the-browser demo, scripted, against `make run`.

A headless Chromium buys something, clicks **Complete purchase** and closes the tab while the
sandbox holds back the browser's `done` (30 s) and, for a few seconds, Avarda's server-side
callback, so the tab is surely gone before either. The order still turns paid, by the
callback alone. The script prints each step with its time, the order's URL and its story as
the shop tells it, and saves a screenshot of the order page: in the system's temporary
directory, or over the README's `docs/order-page.png` with `--refresh-readme-screenshot`
(`make demo-close-browser DEMO_ARGS=--refresh-readme-screenshot`).

Settings come from the environment or `instance/settings.env`, as for `make run`. The
demo merchant's settings are put back afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from dotenv import dotenv_values
from playwright.sync_api import Browser, expect, sync_playwright

from tests.e2e.shopper import Shopper
from tests.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CHROMIUM_MISSING,
    ROOT,
    chromium_available,
    wait_until,
)

README_SCREENSHOT = ROOT / "docs" / "order-page.png"
DEFAULT_SCREENSHOT = Path(tempfile.gettempdir()) / "demo-close-browser" / "order-page.png"
#: The story's faults: done() held back 30 s, the callback a few seconds, nothing else.
FAULTS = {
    "callback_enabled": True,
    "done_delay_seconds": 30,
    "never_call_done": False,
    "first_attempt_delay_ms": 4_000,
    "fail_first_attempts": 0,
    "callback_copies": 1,
}


@dataclass(frozen=True)
class Demo:
    shop: str
    sandbox: str
    site_code: str
    sandbox_admin: tuple[str, str]


def settings() -> Demo:
    """Where `make run` runs, from the environment and `instance/settings.env`."""
    values = {k: v for k, v in dotenv_values(ROOT / "instance" / "settings.env").items() if v}
    values.update({k: v for k, v in os.environ.items() if k in values or k.endswith("_PORT")})
    shop_port = values.get("SHOP_PORT", "5000")
    sandbox_port = values.get("SANDBOX_PORT", "5001")
    return Demo(
        shop=values.get("SHOP_PUBLIC_URL", f"http://127.0.0.1:{shop_port}").rstrip("/"),
        sandbox=f"http://127.0.0.1:{sandbox_port}",
        site_code=values["AVARDA_SITE_CODE"],
        sandbox_admin=(values["SANDBOX_ADMIN_USERNAME"], values["SANDBOX_ADMIN_PASSWORD"]),
    )


class Clock:
    """Prints each step with the seconds since the demo began."""

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)

    def say(self, text: str, at: datetime | None = None) -> None:
        seconds = (
            (at - self.started_at).total_seconds()
            if at is not None
            else time.monotonic() - self.started
        )
        self.out(f"  +{seconds:6.2f} s  {text}")

    def more(self, text: str) -> None:
        self.out(f"             {text}")


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def main_with_chromium(demo: Demo, screenshot: Path) -> int:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return run(demo, screenshot, browser)
        finally:
            browser.close()


def run(demo: Demo, screenshot: Path, browser: Browser, out: Callable[[str], None] = print) -> int:
    """The demo against running servers; 0 when the order was paid by the callback alone."""
    admin = demo.sandbox_admin
    api = f"{demo.sandbox}/CheckOut2/Sandbox/Api"
    merchant_url = f"{api}/Merchants/{demo.site_code}"
    try:
        requests.get(demo.shop + "/healthz", timeout=3).raise_for_status()
        requests.get(demo.sandbox + "/healthz", timeout=3).raise_for_status()
    except requests.RequestException as exc:
        out(f"The demo is not running ({exc.__class__.__name__}): start `make run` first.")
        return 2

    previous = requests.get(merchant_url, auth=admin, timeout=5).json()
    requests.put(merchant_url, json=FAULTS, auth=admin, timeout=5).raise_for_status()
    out(f"The close-the-browser demo: shop {demo.shop}, Avarda sandbox {demo.sandbox}")
    clock = Clock(out)
    delay = FAULTS["first_attempt_delay_ms"] / 1000
    clock.say(
        f"Merchant {demo.site_code}: done() held back {FAULTS['done_delay_seconds']} s, the "
        f"callback {delay:g} s (put back at the end)"
    )
    status: dict[str, Any] = {"state": "unknown"}
    try:
        context = browser.new_context()
        shopper = Shopper(context.new_page(), demo.shop)
        shopper.fill_cart()
        token = shopper.go_to_checkout()
        order_url = f"{demo.shop}/orders/{token}"
        number = requests.get(f"{order_url}/status", timeout=5).json()["number"]
        expect(shopper.form.get_by_role("button", name="Complete purchase")).to_be_visible()
        clock.say(f"Checkout page with Avarda's form: order {number}")
        shopper.complete_purchase("Invoice")
        notice = shopper.form.get_by_text("Close this tab")
        expect(notice).to_be_visible()
        purchase_id = requests.get(f"{order_url}/status", timeout=5).json()["purchase_id"]
        purchase = requests.get(f"{api}/Purchases/{purchase_id}", auth=admin, timeout=5)
        clock.say(
            "Clicked Complete purchase (invoice): Avarda completed the purchase",
            at=_when(purchase.json()["Completed"]),
        )
        notice_text = notice.inner_text()
        context.close()
        clock.say(f'The form said "{notice_text}" The tab is closed: done() never runs.')

        def decided() -> dict[str, Any] | None:
            now = requests.get(f"{order_url}/status", timeout=5).json()
            return now if now["state"] != "pending" else None

        status = wait_until(decided, timeout=60, interval=0.1, message="the order decided")
        purchase = requests.get(f"{api}/Purchases/{purchase_id}", auth=admin, timeout=5)
        for delivery in purchase.json()["deliveries"]:
            for attempt in delivery["attempts"]:
                code = attempt.get("status_code")
                answer = f"HTTP {code}" if code else attempt.get("outcome", "")
                clock.say(
                    f"Avarda's server-side callback, attempt {attempt['number']}: {answer} in "
                    f"{attempt.get('latency_ms')} ms",
                    at=_when(attempt["at"]),
                )
        clock.say(
            f"The shop: {status['state']}, confirmed by {status['confirmed_by']}",
            at=_when(status["confirmed_at"]),
        )

        viewer = browser.new_context(viewport={"width": 1000, "height": 900}, locale="en-GB")
        page = viewer.new_page()
        page.goto(order_url)
        clock.say("The order's page, opened in a new browser:")
        clock.more(order_url)
        clock.more(page.locator("[data-headline]").inner_text())
        for line in page.locator("[data-timeline] li").all_inner_texts():
            clock.more("- " + line)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        out(f"Screenshot: {screenshot}")
        viewer.close()
    finally:
        restore = {key: previous[key] for key in FAULTS if key in previous}
        requests.put(merchant_url, json=restore, auth=admin, timeout=5)
    return 0 if status["state"] == "paid" and status.get("confirmed_by") == "callback" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--screenshot", type=Path, default=DEFAULT_SCREENSHOT)
    where.add_argument(
        "--refresh-readme-screenshot",
        action="store_true",
        help=f"write the screenshot to {README_SCREENSHOT.relative_to(ROOT)}",
    )
    args = parser.parse_args(argv)
    if not chromium_available():
        print(CHROMIUM_MISSING, file=sys.stderr)
        return 2
    screenshot = README_SCREENSHOT if args.refresh_readme_screenshot else args.screenshot
    return main_with_chromium(settings(), screenshot)


if __name__ == "__main__":
    sys.exit(main())
