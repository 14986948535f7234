"""The load generator: ``wrk`` (Debian's package) with ``bench/load.lua``, in its own process.

One generator for a scenario and its baseline, so their figures differ only by the
server. ``wrk`` keeps its connections alive, as Avarda's and a browser's HTTP clients
would, and measures each request's latency; the script reports the whole distribution
(every percentile) besides the counts and errors.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("load.lua")
WRK_MISSING = "wrk is not installed: `sudo apt-get install wrk` (Debian/Ubuntu)"


@dataclass
class Load:
    """What one ``wrk`` run measured."""

    label: str
    concurrency: int
    requests: int
    seconds: float
    errors: dict[str, int]
    #: (percentile, latency in ms) from 1 to 100.
    cdf: list[tuple[float, float]] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile(self, p: float) -> float:
        """The latency (ms) at percentile ``p`` (the nearest point at or above it)."""
        for q, ms in self.cdf:
            if q >= p:
                return ms
        return self.cdf[-1][1]


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    *,
    label: str,
    concurrency: int,
    seconds: int,
    method: str = "GET",
    path: str = "/",
    body: str = "",
    ids: Sequence[str] = (),
    headers: dict[str, str] | None = None,
) -> Load:
    """``concurrency`` connections for ``seconds`` against ``url`` + ``path``.

    ``path`` and ``body`` may hold ``{id}``, replaced by ``ids`` in turn. ``headers``
    may set Authorization, Content-Type and Cookie.
    """
    if not wrk_available():
        raise RuntimeError(WRK_MISSING)
    headers = headers or {}
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_PATH": path,
        "BENCH_BODY": body,
        "BENCH_IDS": " ".join(ids),
        "BENCH_AUTHORIZATION": headers.get("Authorization", ""),
        "BENCH_CONTENT_TYPE": headers.get("Content-Type", ""),
        "BENCH_COOKIE": headers.get("Cookie", ""),
    }
    command = [
        "wrk",
        f"--threads={min(2, concurrency)}",
        f"--connections={concurrency}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        url,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next(
        (ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")),
        None,
    )
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return Load(
        label=label,
        concurrency=concurrency,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors={k: v for k, v in data["errors"].items() if v},
        cdf=[(p, us / 1000) for p, us in data["cdf"]],
    )
