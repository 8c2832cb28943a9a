"""The import ladder of DESIGN.md §2, enforced on the source with ``ast``.

A module may import only its own level and the levels above it (smaller numbers).
Third-party packages are allowed only from the level given in THIRD_PARTY. Imports
inside functions (lazy imports) follow the same rules, except for the few upward
imports listed in LAZY_UPWARD, each with the reason it is there.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "llmteams_lab"
APP = 11  # cli.py and the serve/proxy apps sit above every library level

LEVELS = {
    "errors": 0,
    "spec": 1,
    "messages": 2, "events": 2,
    "backends": 3, "streams": 3, "stream_lanes": 3,
    "protocols": 4, "rounds": 4,
    "workloads": 5,
    "runtime": 6,
    "metrics": 7, "datasets": 7,
    "plots": 8,
    "experiments": 9, "export": 9,
    "ui": 10,
    "cli": APP, "serve": APP, "proxy": APP, "classroom": APP,
    "__init__": APP,  # the curated façade; the subprocess test keeps it free of heavy imports
}

# third-party top-level module -> (lowest level allowed, or a set of module paths allowed)
THIRD_PARTY: dict[str, int | frozenset[str]] = {
    "numpy": 3,
    "polars": 7,
    "plotly": 8,
    "tqdm": 9,
    "ray": 9,
    "ipywidgets": 10, "anywidget": 10, "traitlets": 10, "IPython": 10,
    "openai": frozenset({"backends/openai.py", "backends/openai_wire.py"}),
    "httpx": frozenset({"backends/openai.py", "backends/openai_wire.py"}),
    "httpx2": frozenset({"backends/openai.py", "backends/openai_wire.py"}),  # the HTTP library of openai>=3 (httpx's successor)
    "aiohttp": APP,
    "voila": frozenset({"classroom/app.py"}),  # the [classroom] extra, imported when serving
    "opentelemetry": frozenset({"export/otel_sdk.py"}),  # the [otel] extra, imported lazily by export/otel.py
}

# (importing module, imported llmteams_lab module) -> why this upward import may happen lazily
LAZY_UPWARD = {
    ("runtime/result.py", "metrics.frame"): "RunResult.events builds the polars frame on first access",
    ("runtime/result.py", "metrics.summary"): "RunResult.summary() is the per-round table",
    ("backends/openai.py", "workloads"): "an OpenAIBackend built by hand takes the codec of its spec's workload",
    ("runtime/sinks.py", "datasets.jsonl"): "JsonlSink encodes large batches with polars (small runs never load it)",
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def level_of(relpath: str) -> int:
    head = relpath.split("/")[0].removesuffix(".py")
    for prefix in ("serve", "proxy"):
        if head.startswith(prefix):
            return APP
    if head not in LEVELS:
        raise AssertionError(f"{relpath}: not on the import ladder; give {head!r} a level in LEVELS "
                             "(and in DESIGN.md §2)")
    return LEVELS[head]


def imports(path: Path) -> list[tuple[str, int, bool, bool]]:
    """(absolute module name, line, lazy, type_checking_only) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(("llmteams_lab", *path.relative_to(PACKAGE).with_suffix("").parts))
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found: list[tuple[str, int, bool, bool]] = []

    def visit(node: ast.AST, lazy: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, lazy, typing_only) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                found.extend(_from_names(child, package, lazy, typing_only))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, True, typing_only)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(child, lazy, True)
            else:
                visit(child, lazy, typing_only)

    visit(tree, False, False)
    return found


def _from_names(node: ast.ImportFrom, package: str, lazy: bool, typing_only: bool):
    if node.level:
        base = package.split(".")
        base = base[: len(base) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if module == "llmteams_lab" or node.level and not node.module:
        # `from llmteams_lab import spec` / `from . import x`: each name may be a submodule
        return [(f"{module}.{a.name}", node.lineno, lazy, typing_only) for a in node.names]
    return [(module, node.lineno, lazy, typing_only)]


def own_level(name: str) -> tuple[int, str]:
    """Level of an ``llmteams_lab.*`` module name, and its name relative to the package."""
    inner = name.removeprefix("llmteams_lab").lstrip(".")
    head = inner.split(".")[0] if inner else "__init__"
    if head not in LEVELS and not head.startswith(("serve", "proxy")):
        head = "__init__"  # a name re-exported by the façade
    return (APP if head.startswith(("serve", "proxy")) else LEVELS[head]), inner


def violations() -> list[str]:
    found = []
    for path in modules():
        relpath, level = rel(path), level_of(rel(path))
        for name, line, lazy, typing_only in imports(path):
            top = name.split(".")[0]
            where = f"{relpath}:{line}"
            if top == "llmteams_lab":
                target, inner = own_level(name)
                if target > level and not typing_only:
                    if lazy and (relpath, inner) in LAZY_UPWARD:
                        continue
                    found.append(f"{where} imports {name} (level {target}) from level {level}")
                continue
            if top in sys.stdlib_module_names or top == "__future__" or typing_only:
                continue  # typing-only imports never run
            rule = THIRD_PARTY.get(top)
            if rule is None:
                found.append(f"{where} imports third-party {top!r}, which is not on the ladder (THIRD_PARTY)")
            elif isinstance(rule, frozenset) and relpath not in rule:
                found.append(f"{where} imports {top!r}, allowed only in {sorted(rule)}")
            elif isinstance(rule, int) and level < rule:
                found.append(f"{where} imports {top!r} at level {level}; allowed from level {rule}")
    return found


def test_every_module_respects_the_import_ladder() -> None:
    assert violations() == []


def test_lazy_upward_allowlist_is_still_needed() -> None:
    """A stale allowlist entry would quietly permit a future upward import."""
    used = set()
    for path in modules():
        for name, _, lazy, _ in imports(path):
            if lazy and name.startswith("llmteams_lab"):
                used.add((rel(path), own_level(name)[1]))
    assert set(LAZY_UPWARD) <= used


@pytest.mark.parametrize(("source", "expected"), [
    ("import polars\n", "imports 'polars' at level 3; allowed from level 7"),
    ("from llmteams_lab.runtime import Run\n", "imports llmteams_lab.runtime (level 6) from level 3"),
    ("def f():\n    from llmteams_lab.metrics import frame\n", "imports llmteams_lab.metrics (level 7) from level 3"),
    ("import openai\n", "imports 'openai', allowed only in ['backends/openai.py', 'backends/openai_wire.py']"),
    ("import leftpad\n", "imports third-party 'leftpad', which is not on the ladder"),
])
def test_the_checker_catches_violations(tmp_path, monkeypatch, source, expected) -> None:
    """The checker itself must fail on bad imports, or a passing ladder test means nothing."""
    fake = tmp_path / "llmteams_lab"
    (fake / "backends").mkdir(parents=True)
    (fake / "backends" / "bad.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    found = violations()
    assert len(found) == 1 and expected in found[0], found
