"""How long and how much each scenario runs (``--quick`` for a smoke run), and where the
results go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Options:
    database: str
    results: Path
    quick: bool = False

    @property
    def rounds(self) -> int:
        return 1 if self.quick else 3

    @property
    def seconds(self) -> int:
        """Length of one wrk run."""
        return 2 if self.quick else 5

    @property
    def warmup_seconds(self) -> int:
        return 1 if self.quick else 2

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def chart(self, name: str) -> Path:
        """Where a chart of this run goes: stable names, so the README shows the latest."""
        self.results.mkdir(parents=True, exist_ok=True)
        return self.results / f"{self.database}-{name}.svg"
