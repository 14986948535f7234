"""docs/integration-guide.md stays true: what it links and names exists, its numbers are the
code's, its code is an excerpt of code that runs in a test, and its install line is what the
copied core imports."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import re
import sys
from functools import cache
from pathlib import Path

from shop.avarda.callback import MAX_BODY
from shop.config import ShopSettings
from shop.orders.callback import RETRY_AFTER

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "integration-guide.md"
#: Where the guide's Python blocks come from: the sketches, the Flask glue, and the tests'
#: scripts that run the copied core.
EXCERPTED = [
    *sorted((ROOT / "docs" / "examples").glob("*.py")),
    ROOT / "shop" / "views" / "callback.py",
    ROOT / "tests" / "integration" / "test_core_copyable.py",
    ROOT / "tests" / "integration" / "test_framework_sketches.py",
]
#: Names of other projects the guide mentions (FastAPI's, Django's, the browser's).
FOREIGN = {"Body", "JSON.parse", "json_script", "max_body_size", "sync_to_async"}


def guide() -> str:
    return GUIDE.read_text()


def prose() -> str:
    """The guide without its fenced code blocks."""
    return re.sub(r"```.*?```", "", guide(), flags=re.S)


def code_spans() -> set[str]:
    return set(re.findall(r"`([^`\n]+)`", prose()))


@cache
def identifiers() -> frozenset[str]:
    """Every name defined or used in the project's code and the sketches."""
    sources = [*ROOT.glob("shop/**/*.py"), *ROOT.glob("common/*.py"), *EXCERPTED[:2]]
    names = {source.stem for source in sources}
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.keyword) and node.arg:
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[-1])
    return frozenset(names)


def test_every_link_and_path_exists():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", guide())
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert len(local) > 15
    missing = [link for link in local if not (GUIDE.parent / link).exists()]
    paths = [
        span
        for span in code_spans()
        if re.fullmatch(r"[\w./-]+/[\w.-]*", span)
        and not span.startswith(("http", "/", "application/", "text/"))
    ]
    assert len(paths) > 10
    # Paths inside the copied core are written as the porter sees them (orders/confirm.py).
    missing += [p for p in paths if not (ROOT / p).exists() and not (ROOT / "shop" / p).exists()]
    assert missing == []


def test_every_python_name_exists():
    known = identifiers() | FOREIGN
    settings = {name.upper() for name in ShopSettings.model_fields}
    # Avarda's names (init's options, wire fields) and the sandbox's, as their own
    # documents give them.
    documented = set(re.findall(r"\w+", (ROOT / "docs/avarda-checkout2-protocol.md").read_text()))
    documented |= {
        word
        for span in re.findall(r"`([^`\n]+)`", (ROOT / "README.md").read_text())
        for word in re.findall(r"\w+", span)
    }
    checked, missing = 0, []
    for span in code_spans():
        name = re.sub(r"\(.*\)$", "", span)  # confirm_purchase(session, …) → confirm_purchase
        if not re.fullmatch(r"[A-Za-z_][\w.]*", name) or "/" in span or "." in name[-3:]:
            continue
        parts = name.split(".")
        if len(parts) == 1 and not ("_" in name or re.search(r"[a-z][A-Z]", name)):
            continue  # a plain word (init, done, State): Avarda's or English
        checked += 1
        if name in FOREIGN or (parts[0] in sys.stdlib_module_names and _stdlib(name)):
            continue
        if not all(part in known or part in settings or part in documented for part in parts):
            missing.append(span)
    assert checked > 60
    assert missing == []


#: Where a dotted name in the guide starts: a module of the copied core (as the porter
#: names it), ``common``, or a class of the core.
CORE_MODULES = {"avarda", "catalog", "common", "mail", "models", "orders", "texts", "transactions"}


def _stdlib(dotted: str) -> bool:
    module, *rest = dotted.split(".")
    target: object = importlib.import_module(module)
    for part in rest:
        target = getattr(target, part, None)
    return target is not None


def test_dotted_names_resolve_in_the_code():
    """``texts.use_templates``, ``PurchaseState.is_dead``, ``common.db.configure_sqlite``."""
    import shop.avarda
    import shop.models
    import shop.orders.commerce

    classes = {
        name: value
        for module in (shop.avarda, shop.models, shop.orders.commerce)
        for name, value in vars(module).items()
        if isinstance(value, type) and value.__module__.startswith("shop.")
    }
    spans = [
        s
        for s in code_spans()
        if re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", s) and not s.endswith(".py")
    ]
    ours = [s for s in spans if s.split(".")[0] in CORE_MODULES | set(classes)]
    assert len(ours) > 5
    assert [span for span in ours if not _resolves(span, classes)] == []


def _resolves(dotted: str, classes: dict[str, type]) -> bool:
    parts = dotted.split(".")
    target: object = classes.get(parts[0])
    rest = parts[1:]
    if target is None:
        for cut in range(len(parts), 0, -1):
            name = ".".join(parts[:cut])
            name = name if parts[0] == "common" else "shop." + name
            try:
                target = importlib.import_module(name)
            except ModuleNotFoundError:
                continue
            rest = parts[cut:]
            break
    for part in rest:
        fields = getattr(target, "__dataclass_fields__", {})
        if part not in fields and not hasattr(target, part):
            return False
        target = getattr(target, part, None)
    return target is not None or bool(rest)


def test_the_numbers_are_the_codes():
    text = guide()
    assert f"`MAX_BODY` = {MAX_BODY}" in text
    assert f"`Retry-After: {RETRY_AFTER}`" in text
    assert (
        f"(`RECONCILE_MIN_AGE` here, {ShopSettings.model_fields['reconcile_min_age'].default:g})"
        in text
    )


def test_python_blocks_are_excerpts_of_code_that_runs():
    blocks = re.findall(r"```python\n(.*?)```", guide(), flags=re.S)
    assert len(blocks) >= 3
    source_lines = {line.strip() for path in EXCERPTED for line in path.read_text().splitlines()}
    missing = [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and line.strip() not in source_lines
    ]
    assert missing == []


def test_the_install_line_is_what_the_copied_core_imports():
    [line] = [ln for ln in guide().splitlines() if ln.startswith("pip install ")]
    listed = {_normal(re.split(r"[<>=\[]", word.strip('"'))[0]) for word in line.split()[2:]}
    imported = _third_party_imports()
    # urllib3 comes with requests (the client catches urllib3's connection errors).
    distributions = {
        _normal(dist)
        for module in imported - {"urllib3"}
        for dist in importlib.metadata.packages_distributions()[module]
    }
    assert listed == distributions


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports() -> set[str]:
    """Top-level modules the copied core imports that are neither the standard library,
    the core itself, nor ``common``; following ``common``'s modules the core imports."""
    copied = re.search(r"```sh\n(mkdir.*?)```", guide(), flags=re.S)
    assert copied
    files: list[Path] = []
    for name in re.findall(r"\bshop/[\w/.]+", copied.group(1)):
        path = ROOT / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    found: set[str] = set()
    seen: set[Path] = set()
    while files:
        source = files.pop()
        if source in seen:
            continue
        seen.add(source)
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top == "common":
                    files.append(ROOT / (module.replace(".", "/") + ".py"))
                elif top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
    return found
