"""The guide's "What to copy", as tests run it: the shell block that copies the core."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integration-guide.md"


def copy_command() -> str:
    """The guide's shell block that copies the core (the one that copies shop/avarda)."""
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    found = [block for block in blocks if "shop/avarda" in block and "common" in block]
    assert len(found) == 1, "the guide has one sh block that copies the core"
    return found[0]


def copy_set() -> list[Path]:
    """What the guide's command copies from the shop, as paths in this repository."""
    names = re.findall(r"\bshop/[\w/.]+", copy_command())
    return [ROOT / name.rstrip("/") for name in names]


def copy_core(project: Path, package: str) -> None:
    """Run the guide's command with ``DEST=project`` and ``PKG=package``."""
    project.mkdir(parents=True, exist_ok=True)
    copied = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", copy_command()],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DEST": str(project), "PKG": package},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert copied.returncode == 0, copied.stderr
