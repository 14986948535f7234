"""`make demo-close-browser` against the demo's processes: it tells the story step by step
with timings and the order's URL, and leaves the README's screenshot alone."""

from __future__ import annotations

import re

import pytest

from tests.e2e import demo_close_browser
from tests.harness import Stack

pytestmark = pytest.mark.browser


def test_the_scripted_demo_tells_its_story_with_timings(merchant: Stack, browser, tmp_path):
    readme_shot = demo_close_browser.README_SCREENSHOT
    before = readme_shot.stat().st_mtime_ns if readme_shot.exists() else None
    settings_before = merchant.merchant()
    lines: list[str] = []
    demo = demo_close_browser.Demo(
        shop=merchant.shop_url,
        sandbox=merchant.sandbox_url,
        site_code=merchant.site_auth[0],
        sandbox_admin=merchant.sandbox_admin,
    )
    shot = tmp_path / "shots" / "order.png"

    assert demo_close_browser.run(demo, shot, browser, out=lines.append) == 0
    text = "\n".join(lines)
    assert re.search(rf"{re.escape(merchant.shop_url)}/orders/[\w-]+", text), text
    assert "The tab is closed: done() never runs." in text
    assert re.search(r"callback, attempt 1: HTTP 200 in \d+ ms", text), text
    assert "The shop: paid, confirmed by callback" in text
    assert "your browser did not return to the shop" in text
    steps = {
        words: float(seconds)
        for seconds, words in re.findall(r"^  \+\s*(\d+\.\d\d) s  (.{20})", text, flags=re.M)
    }
    assert len(steps) >= 7, text  # every step, with its time
    closed = next(t for words, t in steps.items() if words.startswith("The form said"))
    callback = next(t for words, t in steps.items() if words.startswith("Avarda's server-side"))
    assert closed < callback, "the callback came after the tab was closed"
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert (readme_shot.stat().st_mtime_ns if readme_shot.exists() else None) == before
    assert merchant.merchant() == settings_before  # the merchant is put back


def test_the_screenshot_goes_to_the_temporary_directory_unless_asked(monkeypatch):
    chosen = []
    monkeypatch.setattr(demo_close_browser, "settings", lambda: None)
    monkeypatch.setattr(
        demo_close_browser, "main_with_chromium", lambda demo, shot: chosen.append(shot) or 0
    )
    assert demo_close_browser.main([]) == 0
    assert demo_close_browser.main(["--refresh-readme-screenshot"]) == 0
    assert chosen == [demo_close_browser.DEFAULT_SCREENSHOT, demo_close_browser.README_SCREENSHOT]
    assert not demo_close_browser.DEFAULT_SCREENSHOT.is_relative_to(demo_close_browser.ROOT)
