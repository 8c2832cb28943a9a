"""The public surface: a light ``import llmteams_lab`` and curated, sorted ``__all__``."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "llmteams_lab"
HEAVY = ["ipywidgets", "IPython", "plotly", "openai", "nest_asyncio", "ray", "anywidget"]


def test_importing_the_package_loads_no_notebook_plot_or_llm_library() -> None:
    code = ("import json, sys; import llmteams_lab; "
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert json.loads(out.stdout) == []
    assert out.stderr == ""


def test_the_check_would_see_a_heavy_import() -> None:
    """Guard against a vacuous check: importing plotly in the same way is detected."""
    code = "import sys, plotly; print('plotly' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.strip() == "True"


def module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def declared_all(name: str) -> list[str] | None:
    """``__all__`` as written in the source (a list literal), or None when absent."""
    module = importlib.util.find_spec(name)
    tree = ast.parse(Path(module.origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                return list(ast.literal_eval(node.value))
    return None


PACKAGES = [n for n in module_names() if (PACKAGE.parent / n.replace(".", "/") / "__init__.py").is_file()]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_curates_a_sorted_all(name: str) -> None:
    names = declared_all(name)
    assert names is not None, f"{name} has no __all__"
    assert names == sorted(names), f"{name}.__all__ is not sorted"
    assert len(set(names)) == len(names), f"{name}.__all__ has duplicates"


@pytest.mark.parametrize("name", [n for n in module_names() if declared_all(n) is not None])
def test_every_name_in_all_exists_and_all_is_sorted(name: str) -> None:
    module = importlib.import_module(name)
    names = declared_all(name)
    assert names == sorted(names), f"{name}.__all__ is not sorted"
    missing = [n for n in names if not hasattr(module, n)]
    assert missing == [], f"{name}.__all__ names missing attributes {missing}"


def test_version_matches_the_project() -> None:
    import tomllib

    import llmteams_lab

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert llmteams_lab.__version__ == project["version"]
