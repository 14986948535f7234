"""Charts of the results (matplotlib, small SVG files with text kept as text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.load import Load

COLORS = {"shop": "#1f6feb", "baseline": "#9a6700"}
#: The percentile axis spreads the tail: x = 1 / (1 - p/100) on a log scale.
TICKS = (50, 90, 99, 99.9)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False})
    plt.rcParams.update({"axes.spines.right": False})
    return plt


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    import matplotlib.pyplot as plt

    plt.close(fig)


def _x(p: float) -> float:
    return 1 / (1 - p / 100)


def latency_distributions(runs: Mapping[int, Sequence[tuple[Load, Load]]], path: Path) -> None:
    """One panel per concurrency: latency by percentile, shop and baseline, every round."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 2.8), sharey=True)
    for ax, (concurrency, pairs) in zip(axes, runs.items(), strict=True):
        for i, pair in enumerate(pairs):
            for load in pair:
                points = [(p, ms) for p, ms in load.cdf if p < 100]
                ax.plot(
                    [_x(p) for p, _ in points],
                    [ms for _, ms in points],
                    color=COLORS[load.label],
                    alpha=0.8,
                    linewidth=1,
                    label=load.label if i == 0 else None,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([_x(p) for p in TICKS], [f"p{p:g}" for p in TICKS])
        ax.minorticks_off()
        ax.set_title(f"{concurrency} connection{'s' if concurrency > 1 else ''}")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("latency (ms)")
    axes[0].legend(frameon=False)
    _save(fig, path)


def paid_over_time(
    series: Mapping[str, Sequence[float]], total: int, path: Path, xlabel: str
) -> None:
    """Orders paid against time: one step curve per series (seconds of each payment)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.8))
    for label, times in series.items():
        ordered = sorted(times)
        ax.step(ordered, range(1, len(ordered) + 1), where="post", label=label, linewidth=1.2)
    ax.axhline(total, color="#999", linewidth=0.8, linestyle="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("orders paid")
    ax.grid(True, alpha=0.3)
    if len(series) > 1:
        ax.legend(frameon=False)
    _save(fig, path)
