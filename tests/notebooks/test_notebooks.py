"""Every notebook in ``notebooks/`` runs top to bottom in a fresh kernel, once.

The list is read from the folder, so a notebook added by anyone is executed without
touching this file; none is skipped. Select with ``-m notebook``. A notebook with checks
of its own (what its outputs must and must not show) lists them in :data:`CHECKS`,
so no notebook is executed twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
SERVE_KEY = "sk-lesson05-" + "Vw9" * 12


def _lesson_05(nb, text: str, saved: Path) -> None:
    """Lesson 05 runs offline on ``serve`` (which requires the key in
    ``$LLMTEAMS_SERVE_KEY``) and never shows that key, in any output or the saved file."""
    assert "answered by llmteams-lab serve at http://127.0.0.1:" in text
    assert "AgentReplied" in text and "cost_usd" in text and "latency_s" in text
    assert "AgentRetried" in text and "rate_limited" in text and "malformed" in text
    assert "serve stopped after" in text
    assert SERVE_KEY not in text and SERVE_KEY not in saved.read_text(encoding="utf-8")
    assert os.environ["LLMTEAMS_SERVE_KEY"] == SERVE_KEY  # the notebook read the key; it never printed it


# notebook stem -> (extra environment, check of the executed notebook)
CHECKS: dict[str, tuple[dict[str, str], Callable]] = {
    "05_real_llm_team": ({"LLMTEAMS_SERVE_KEY": SERVE_KEY}, _lesson_05),
}


def test_the_lessons_are_there():
    names = {p.name for p in PATHS}
    assert {"01_quickstart.ipynb", "02_consensus.ipynb", "03_communication_overhead.ipynb"} <= names
    index = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    missing = [name for name in sorted(names) if f"`{name}`" not in index]
    assert not missing, f"notebooks/README.md must list every notebook; missing {missing}"
    assert set(CHECKS) <= {p.stem for p in PATHS}


@pytest.mark.notebook
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_top_to_bottom(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the lessons must run offline: without a key, lesson 05 uses the loopback `serve`
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    env, check = CHECKS.get(path.stem, ({}, None))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells and nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), \
        "a notebook opens with a title and prose"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs
              if o.get("output_type") == "error" or o.get("name") == "stderr" and "Traceback" in o.get("text", "")]
    assert not errors, errors
    saved = tmp_path / path.name
    nbformat.write(nb, saved)
    assert saved.stat().st_size < 2_000_000, f"{path.name} weighs {saved.stat().st_size:,} bytes executed"
    if check is not None:
        check(nb, json.dumps(outputs), saved)
