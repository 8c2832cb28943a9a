"""Lesson 05 runs offline on ``serve`` (no ``OPENAI_API_KEY``) and never shows the key it uses.

The notebook starts ``serve`` requiring the key in ``$LLMTEAMS_SERVE_KEY``; this test sets
that variable to a known value, executes the notebook top to bottom in a fresh kernel,
and searches every output (and the saved notebook file) for the key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_real_llm_team.ipynb"
KEY = "sk-lesson05-" + "Vw9" * 12


@pytest.mark.notebook
def test_lesson_05_runs_on_serve_and_its_outputs_never_contain_the_key(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("LLMTEAMS_SERVE_KEY", KEY)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = json.dumps(outputs)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert "answered by llmteams-lab serve at http://127.0.0.1:" in text
    assert "AgentReplied" in text and "cost_usd" in text and "latency_s" in text
    assert "AgentRetried" in text and "rate_limited" in text and "malformed" in text
    assert "serve stopped after" in text
    saved = tmp_path / "executed.ipynb"
    nbformat.write(nb, saved)
    assert KEY not in text and KEY not in saved.read_text(encoding="utf-8")
    assert os.environ["LLMTEAMS_SERVE_KEY"] == KEY  # the notebook read the key; it never printed it
