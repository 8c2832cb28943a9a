"""What a user installs: the licence, the changelog, the version, the extras, the wheel.

CI installs only ``.[dev]``, so the ``dev`` extra must bring every third-party package the
test suite imports (checked here against the installed packages' own requirements). The
slow test builds a wheel as pip would and reads what it ships.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support import build_wheel

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS = ("bench", "classroom", "dev", "docs", "otel", "ray")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_licence_is_mit_and_matches_the_metadata() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2026 the llmteams_lab authors" in text
    assert PROJECT["license"] == {"text": "MIT"} and "License :: OSI Approved :: MIT License" in PROJECT["classifiers"]


def test_the_changelog_has_this_release_and_the_next() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert headings[:2] == ["Unreleased", PROJECT["version"]]


def test_version_flag_prints_the_project_version() -> None:
    out = subprocess.run([sys.executable, "-m", "llmteams_lab.cli", "--version"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"llmteams-lab {PROJECT['version']}"


def test_the_extras_are_declared() -> None:
    extras = PROJECT["optional-dependencies"]
    assert sorted(extras) == list(EXTRAS)
    dev = [Requirement(r) for r in extras["dev"]]
    [own] = [r for r in dev if _norm(r.name) == "llmteams-lab"]
    assert own.extras == {"otel", "classroom", "docs"}, "dev installs the extras the suite tests"
    assert (ROOT / "llmteams_lab" / "py.typed").is_file() and "Typing :: Typed" in PROJECT["classifiers"]


def _closure(requirements: list[Requirement]) -> set[str]:
    """Distribution names ``requirements`` install, following installed packages' own requirements."""
    seen: set[str] = set()
    todo = list(requirements)
    extras = PROJECT["optional-dependencies"]
    while todo:
        req = todo.pop()
        name = _norm(req.name)
        if name == "llmteams-lab":  # a self-reference: our own extras
            todo += [Requirement(r) for extra in req.extras for r in extras[extra]]
            continue
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.requires(req.name) or []
        except md.PackageNotFoundError:
            continue
        for line in requires:
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *req.extras)):
                todo.append(sub)
    return seen


def _test_imports() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("llmteams_lab", "tests", "__future__")}


def test_the_dev_extra_brings_every_package_the_tests_import() -> None:
    installed = _closure([Requirement(r) for r in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]])
    providers = md.packages_distributions()
    missing = {}
    for module in sorted(_test_imports()):
        dists = {_norm(d) for d in providers.get(module, [module])}
        if not dists & installed:
            missing[module] = sorted(dists)
    assert missing == {}, f"imported by tests/ but not installed by .[dev]: {missing}"


@pytest.mark.slow
def test_the_wheel_ships_the_licence_the_type_marker_and_the_metadata(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = zf.read(metadata).decode()
        licence = [n for n in names if ".dist-info/" in n and Path(n).name == "LICENSE"]
        assert licence and zf.read(licence[0]) == (ROOT / "LICENSE").read_bytes()
    assert "llmteams_lab/py.typed" in names
    shipped = {n for n in names if n.startswith("llmteams_lab/classroom/") and not n.endswith(".py")}
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "llmteams_lab" / "classroom").rglob("*")
                if p.is_file() and p.suffix not in (".py", ".pyc")}
    assert shipped == expected, "the classroom's Voila template ships with the package"
    assert f"Version: {PROJECT['version']}" in meta
    assert sorted(re.findall(r"^Provides-Extra: (\S+)$", meta, flags=re.M)) == list(EXTRAS)
    assert "Classifier: Typing :: Typed" in meta and "Project-URL: Paper, https://arxiv.org/abs/2603.12229" in meta
