"""docs/sandbox-fidelity.md stays true: every test and every Python name it cites exists."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from tests.harness import ROOT

DOC = ROOT / "docs" / "sandbox-fidelity.md"
HERE = Path(__file__).resolve().parent


def cited(pattern: str) -> set[tuple[str, str]]:
    return set(re.findall(pattern, DOC.read_text()))


def test_every_cited_test_exists():
    tests = cited(r"`(test_\w+)::(test_\w+)")
    assert len(tests) > 60
    missing = []
    for module, name in sorted(tests):
        tree = ast.parse((HERE / f"{module}.py").read_text())
        functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        if name not in functions:
            missing.append(f"{module}::{name}")
    assert missing == []


def test_every_cited_python_name_exists():
    names = {
        (module, attribute)
        for module, attribute in cited(r"`((?:views/)?[a-z_]+)\.([A-Za-z_][\w.]*)`")
        if attribute not in {"py", "html", "js"}
    }
    assert len(names) > 30
    missing = []
    for module, attribute in sorted(names):
        try:
            target = importlib.import_module("sandbox." + module.replace("/", "."))
        except ModuleNotFoundError:
            missing.append(f"{module}.{attribute}")
            continue
        for part in attribute.split("."):
            if not hasattr(target, part):
                missing.append(f"{module}.{attribute}")
                break
            target = getattr(target, part)
    assert missing == []
