"""What every page must be, checked in the browser: it fits the viewport, axe-core finds
no serious or critical WCAG 2.1 A/AA violation, and on a phone its form fields are 16 px
(no zoom on focus in iOS) and its controls are tap targets of at least 24 × 24 px.

``Audit`` collects the problems of a whole walk through the site, so that one run names
every page that fails instead of stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Frame, Page

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

WCAG_21_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": WCAG_21_A_AA},
    "resultTypes": ["violations"],
}
BLOCKING = {"serious", "critical"}
MIN_TARGET_PX = 24
MIN_INPUT_FONT_PX = 16

_axe = Axe()

# Visible controls a finger must hit; a checkbox or radio button counts with its label.
_CONTROLS_JS = """
(minTarget) => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden";
  };
  const name = (el) => {
    const text = (el.getAttribute("aria-label") || el.textContent || el.name || el.id || "")
      .trim().replace(/\\s+/g, " ").slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.type ? "[" + el.type + "]" : ""} "${text}"`;
  };
  const small = [];
  const fonts = [];
  const selector = "button, input:not([type=hidden]), select, textarea, a.button";
  for (const el of document.querySelectorAll(selector)) {
    if (!visible(el)) continue;
    let target = el;
    const label = el.closest("label");
    if (["checkbox", "radio"].includes(el.type) && label) target = label;
    const r = target.getBoundingClientRect();
    if (r.width < minTarget || r.height < minTarget) {
      small.push(`${name(el)} is ${Math.round(r.width)}×${Math.round(r.height)} px`);
    }
    if (el.matches("input:not([type=checkbox]):not([type=radio]), select, textarea")) {
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < 16) fonts.push(`${name(el)} has a ${size} px font`);
    }
  }
  return { small, fonts };
}
"""


def page_width(target: Page | Frame) -> tuple[int, int]:
    """(the document's scroll width, the viewport's width) in CSS pixels."""
    return target.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )


def axe_violations(target: Page | Frame) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on this page or frame."""
    results = _axe.run(target, options=AXE_OPTIONS).response
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def describe(violation: dict[str, Any]) -> str:
    nodes = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
    return f"{violation['id']} ({violation['impact']}): {violation['help']} at {nodes}"


@dataclass
class Audit:
    """Problems found on a walk through the site, by page."""

    viewport: str
    problems: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def check(self, target: Page | Frame, name: str) -> None:
        """Check the page (or the frame: Avarda's form) as it is now."""
        target.wait_for_load_state("load")
        self.pages.append(name)
        scroll, width = page_width(target)
        if scroll > width:
            self.problems.append(f"{name}: {scroll} px wide in a {width} px viewport")
        for violation in axe_violations(target):
            self.problems.append(f"{name}: {describe(violation)}")
        if self.viewport == "phone":
            found = target.evaluate(_CONTROLS_JS, MIN_TARGET_PX)
            self.problems.extend(f"{name}: {text}" for text in found["small"] + found["fonts"])

    def assert_clean(self) -> None:
        assert not self.problems, (
            f"{len(self.problems)} problems at {self.viewport} size:\n  "
            + "\n  ".join(self.problems)
        )
