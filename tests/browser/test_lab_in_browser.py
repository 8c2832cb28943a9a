"""The lab in a real JupyterLab, driven by headless Chromium like a user would.

Opens ``01_quickstart``, runs every cell, clicks an agent and makes it a straggler,
clicks Step three times and Play, and checks from the page itself that the team graph
re-coloured its nodes and that the convergence plot gained a point per round. A screenshot of the lab and of the
notebook panel is saved under the test's output directory (``test-output/browser``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llmteams_lab.plots import answer_colors
from tests.browser.jlab import JupyterLab, chromium, node_fills, open_and_run_all, plot_x, status, wait_idle

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
NOTEBOOK = "01_quickstart.ipynb"
CONVERGENCE = "Consensus convergence"


def _round(page, r: int) -> None:
    page.wait_for_function("r => +document.querySelector('.ltl-status-line').dataset.round === r &&"
                           " document.querySelector('.ltl-graph').dataset.round === String(r)", arg=r,
                           timeout=20_000)


@pytest.mark.browser
def test_quickstart_step_and_play_in_a_real_browser(tmp_path: Path) -> None:
    palette = answer_colors(("A", "B", "C", "D"))
    with JupyterLab(tmp_path, [NOTEBOOK]) as lab, chromium() as page:
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        open_and_run_all(page, lab, NOTEBOOK)
        wait_idle(page)
        page.wait_for_selector(".ltl-graph .ltl-node", timeout=20_000)
        _round(page, 2)  # the notebook itself stepped twice (one crash injected)
        before = node_fills(page)
        assert [n["agent"] for n in before] == [f"a{i}" for i in range(7)]
        assert plot_x(page, CONVERGENCE) == [1, 2]

        page.click('.ltl-graph .ltl-node[data-agent="a5"]')  # fault actions for the clicked agent
        page.wait_for_selector(".ltl-fault-panel >> text=Agent a5", timeout=10_000)
        page.click(".ltl-fault-straggler")
        page.wait_for_selector('.ltl-node[data-agent="a5"][data-faults*="straggler"]', timeout=10_000)
        for r in (3, 4, 5):
            page.click(".ltl-step")
            _round(page, r)
        assert plot_x(page, CONVERGENCE) == [1, 2, 3, 4, 5]

        page.click(".ltl-play")
        page.wait_for_function("() => document.querySelector('.ltl-status-line').dataset.state === 'finished'",
                               timeout=30_000)
        final = status(page)
        after = node_fills(page)
        points = plot_x(page, CONVERGENCE)
        log_text = page.locator(".ltl-fault-log").text_content()
        page.wait_for_timeout(700)  # let the last round's message animation land
        page.locator(".ltl-lab").screenshot(path=str(tmp_path / "lab.png"))
        page.locator(".jp-NotebookPanel").screenshot(path=str(tmp_path / "notebook_panel.png"))

    OUTPUT.mkdir(parents=True, exist_ok=True)
    for name in ("lab.png", "notebook_panel.png"):
        shutil.copy(tmp_path / name, OUTPUT / name)
    assert errors == [], errors
    assert final["round"] > 5 and "consensus" in final["text"]
    assert points == list(range(1, final["round"] + 1)), "one convergence point per round, none lost"
    changed = [a["agent"] for a, b in zip(after, before) if a["attr"] != b["attr"]]
    assert changed, "Step/Play must re-colour at least one node"
    for node in after:  # colours on screen are the answers' colours; the crashed agent is grey
        expected = "#d0d4da" if node["state"] == "crashed" else palette[node["answer"]]
        assert node["attr"] == expected, node
    assert {n["state"] for n in after} == {"alive", "crashed"}
    assert log_text.count("straggler") >= 2, log_text  # injected from the page, then applied
