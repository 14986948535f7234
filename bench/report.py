"""The results: one table (every scenario's figures, the ratios to the baseline, the
targets), printed and written as Markdown to ``bench/results/<date>-<db>.md``.

Only the latest run per database is kept in the tree (git keeps the older ones): writing
a result removes the other ``*-<db>.md`` files. Charts are written beside it under
stable names (``<db>-<chart>.svg``) so the README can show the latest.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).with_name("results")


@dataclass(frozen=True)
class Row:
    """One figure: the shop's value, the baseline's (when there is one), the target."""

    scenario: str
    measure: str
    shop: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    #: True met, False missed, None: no target.
    met: bool | None = None


@dataclass
class Section:
    """What one scenario returns: its rows, notes for the reader, chart files."""

    name: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)


HEADER = ("Scenario", "Measure", "Shop", "Baseline", "Shop / baseline", "Target", "Met")


def _met(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "**no**")


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def table(rows: Sequence[Row]) -> str:
    """The rows as one Markdown table (also readable as plain text)."""
    cells = [HEADER] + [
        (r.scenario, r.measure, r.shop, r.baseline, r.ratio, r.target, _met(r.met)) for r in rows
    ]
    widths = [max(len(_escape(c[i])) for c in cells) for i in range(len(HEADER))]

    def line(values: Sequence[str]) -> str:
        padded = (_escape(v).ljust(w) for v, w in zip(values, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(c) for c in cells[1:])])


def document(title: str, context: Sequence[str], sections: Sequence[Section]) -> str:
    """The whole result file: the context (machine, load, settings), the table, the notes
    and the charts of each scenario."""
    rows = [row for s in sections for row in s.rows]
    parts = [f"# {title}", "", *(f"- {c}" for c in context), "", table(rows), ""]
    for section in sections:
        if not (section.notes or section.charts):
            continue
        parts += [f"## {section.name}", ""]
        parts += [f"- {note}" for note in section.notes]
        if section.notes:
            parts.append("")
        parts += [f"![{section.name}]({chart})" for chart in section.charts]
        if section.charts:
            parts.append("")
    return "\n".join(parts)


def machine() -> str:
    cpus = os.cpu_count() or 0
    python = platform.python_version()
    return f"{platform.system()} {platform.release()}, {cpus} CPUs, Python {python}"


def write(text: str, database: str, directory: Path = RESULTS, day: date | None = None) -> Path:
    """Write ``<date>-<database>.md`` and remove older results of that database."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{(day or date.today()).isoformat()}-{database}.md"
    for old in directory.glob(f"*-{database}.md"):
        if old != path:
            old.unlink()
    path.write_text(text if text.endswith("\n") else text + "\n")
    return path


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile ``p`` (0-100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
