"""The API reference and user guide: ``mkdocs build --strict`` must pass, so a broken
cross-reference, link or anchor fails the suite, and the generated pages must hold every
name of the code's vocabularies (events, columns, fault kinds, protocols), every lesson
and every public module. The generator itself refuses an undocumented name.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmteams_lab import events
from llmteams_lab.protocols import PROTOCOLS
from llmteams_lab.spec.faults import FAULT_KINDS

ROOT = Path(__file__).resolve().parents[1]


def _hook():
    spec = importlib.util.spec_from_file_location("llmteams_docs_hook", ROOT / "docs" / "hooks" / "llmteams_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert not (ROOT / ".cache").exists(), "the docs build must not write into the repository"
    return out


@pytest.mark.slow
def test_the_site_builds_strictly_with_every_generated_page(site: Path) -> None:
    reference = site / "reference"
    page = _text(reference / "events" / "index.html")
    assert all(kind in page for kind in events.event_kinds()) and all(f"{c}" in page for c in events.COLUMNS)
    page = _text(reference / "faults" / "index.html")
    assert all(kind in page for kind in FAULT_KINDS) and "FailurePolicySpec" in page
    page = _text(reference / "protocols" / "index.html")
    assert all(name in page and cls.__name__ in page for name, cls in PROTOCOLS.items())
    for module in _hook().api_modules():
        assert (reference / "api" / module / "index.html").is_file(), module
    assert "def export_otel" not in _text(reference / "api" / "llmteams_lab.export" / "index.html")  # no source
    assert "export_otel" in _text(reference / "api" / "llmteams_lab.export" / "index.html")
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (site / "notebooks" / notebook.stem / "index.html").is_file(), notebook.name
    home = _text(site / "index.html")
    assert "Two commands" in home and "Adding a workload" in home  # the README is the guide
    assert "Unreleased" in _text(site / "changelog" / "index.html")


def test_an_undocumented_name_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    from mkdocs.exceptions import PluginError

    from llmteams_lab.protocols import deliberation
    from llmteams_lab.spec import faults

    hook = _hook()
    assert set(hook.fault_descriptions()) == set(FAULT_KINDS)
    monkeypatch.setattr(faults, "FAULT_KINDS", FAULT_KINDS + ("meteor",))
    with pytest.raises(PluginError, match=r"fault kinds \['meteor'\] have no description"):
        hook.fault_kinds()
    monkeypatch.setattr(deliberation, "PROTOCOLS", {**PROTOCOLS, "raft": PROTOCOLS["quorum"]})
    with pytest.raises(PluginError, match=r"protocols \['raft'\] have no description"):
        hook.protocols()
    monkeypatch.setattr(events, "COLUMNS", events.COLUMNS + ("causal_id",))
    with pytest.raises(PluginError, match=r"event columns \['causal_id'\] have no description"):
        hook.event_columns()
