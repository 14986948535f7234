"""The README's "Guarantees" table stays true: every test file and test it cites exists."""

from __future__ import annotations

import ast
import re

from tests.harness import ROOT


def guarantees() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Guarantees")
    return text[start : text.index("\n## ", start + 1)]


def test_every_cited_test_file_and_test_exists():
    section = guarantees()
    missing = []
    last_file = None
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`|`(?:::)?(test_\w+)`", section)
    assert len(cited) > 20
    for path, name, continued in cited:
        if path:
            last_file = path
            if not (ROOT / path).exists():
                missing.append(path)
                continue
        name = name or continued
        if name:
            assert last_file is not None
            tree = ast.parse((ROOT / last_file).read_text())
            functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            if name not in functions:
                missing.append(f"{last_file}::{name}")
    assert missing == []
