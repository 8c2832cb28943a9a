"""Every notebook in ``notebooks/`` runs top to bottom in a fresh kernel.

The list is read from the folder, so a notebook added by anyone is executed without
touching this file; none is skipped. Select with ``-m notebook``.
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_lessons_are_there():
    names = {p.name for p in PATHS}
    assert {"01_quickstart.ipynb", "02_consensus.ipynb", "03_communication_overhead.ipynb"} <= names
    index = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    missing = [name for name in sorted(names) if f"`{name}`" not in index]
    assert not missing, f"notebooks/README.md must list every notebook; missing {missing}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_top_to_bottom(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the lessons must run offline: without a key, lesson 05 uses the loopback `serve`
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    nb = nbformat.read(path, as_version=4)
    assert nb.cells and nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), \
        "a notebook opens with a title and prose"
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, with the failing cell, on any error
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.get("output_type") == "error" or o.get("name") == "stderr" and "Traceback" in o.get("text", "")]
    assert not errors, errors
