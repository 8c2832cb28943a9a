"""The lab in a real JupyterLab, driven by headless Chromium like a user would.

Opens ``01_quickstart``, runs every cell, clicks an agent and makes it a straggler,
clicks Step three times and Play, and checks from the page itself that the team graph
re-coloured its nodes and that the convergence plot gained a point per round. A screenshot of the lab and of the
notebook panel is saved under the test's output directory (``test-output/browser``).
Both live plots must be drawn — a title and traces holding points — after Run All, after
a Step, and after the kernel is restarted in the same page and the notebook run again
(the case in which plotly's FigureWidget used to leave them blank).
"""

from __future__ import annotations

import pytest

from llmteams_lab.plots import answer_colors
from llmteams_lab.ui._assets import asset
from tests.browser.jlab import (
    mount_widget,
    node_fills,
    open_and_run_all,
    plots,
    status,
    wait_idle,
    wait_plot_x,
    wait_plots_drawn,
)

pytestmark = pytest.mark.browser
NOTEBOOK = "01_quickstart.ipynb"
CONVERGENCE = "Consensus convergence"


def _round(page, r: int) -> None:
    page.wait_for_function("r => +document.querySelector('.ltl-status-line').dataset.round === r &&"
                           " document.querySelector('.ltl-graph').dataset.round === String(r)", arg=r,
                           timeout=20_000)


def test_quickstart_step_and_play_in_a_real_browser(page, jupyterlab, screenshots) -> None:
    palette = answer_colors(("A", "B", "C", "D"))
    lab = jupyterlab
    if True:  # (one block: the page's story in order)
        errors = page.errors
        open_and_run_all(page, lab, lab.add(NOTEBOOK))
        wait_idle(page)
        page.wait_for_selector(".ltl-graph .ltl-node", timeout=20_000)
        _round(page, 2)  # the notebook itself stepped twice (one crash injected)
        before = node_fills(page)
        assert [n["agent"] for n in before] == [f"a{i}" for i in range(7)]
        assert wait_plot_x(page, CONVERGENCE, 2) == [1, 2]
        assert len(wait_plots_drawn(page, 2)) == 2

        page.click('.ltl-graph .ltl-node[data-agent="a5"]')  # fault actions for the clicked agent
        page.wait_for_selector(".ltl-fault-panel >> text=Agent a5", timeout=10_000)
        page.click(".ltl-fault-straggler")
        page.wait_for_selector('.ltl-node[data-agent="a5"][data-faults*="straggler"]', timeout=10_000)
        for r in (3, 4, 5):
            page.click(".ltl-step")
            _round(page, r)
        assert wait_plot_x(page, CONVERGENCE, 5) == [1, 2, 3, 4, 5]
        wait_plots_drawn(page, 2)

        page.click(".ltl-play")
        page.wait_for_function("() => document.querySelector('.ltl-status-line').dataset.state === 'finished'",
                               timeout=30_000)
        final = status(page)
        after = node_fills(page)
        points = wait_plot_x(page, CONVERGENCE, final["round"])
        log_text = page.locator(".ltl-fault-log").text_content()
        page.wait_for_timeout(700)  # let the last round's message animation land
        page.locator(".ltl-lab").screenshot(path=str(screenshots / "lab.png"))
        page.locator(".jp-NotebookPanel").screenshot(path=str(screenshots / "notebook_panel.png"))

    assert errors == [], errors
    assert final["round"] > 5 and "consensus" in final["text"]
    assert points == list(range(1, final["round"] + 1)), "one convergence point per round, none lost"
    changed = [a["agent"] for a, b in zip(after, before) if a["attr"] != b["attr"]]
    assert changed, "Step/Play must re-colour at least one node"
    for node in after:  # colours on screen are the answers' colours; the crashed agent is grey
        expected = "#8d949e" if node["state"] == "crashed" else palette[node["answer"]]
        assert node["attr"] == expected, node
    assert {n["state"] for n in after} == {"alive", "crashed"}
    assert "straggler on a5 · from round 3 · in force" in log_text, log_text  # one line per fault


def test_plots_are_drawn_again_after_a_kernel_restart_in_the_same_page(page, jupyterlab, screenshots) -> None:
    name = jupyterlab.add(NOTEBOOK)
    open_and_run_all(page, jupyterlab, name)
    wait_idle(page)
    wait_plots_drawn(page, 2)
    if True:  # restart the kernel in the same page and run every cell again
        page.evaluate("""async () => {
            const w = window.jupyterapp.shell.currentWidget;
            await w.sessionContext.session.kernel.restart();
        }""")
        page.wait_for_function("""() => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            return k && k.status === 'idle';
        }""", timeout=30_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        wait_idle(page)
        _round(page, 2)
        drawn = wait_plots_drawn(page, 2)
        assert {p["title"] for p in drawn} >= {CONVERGENCE, "Communication overhead"}, drawn
    page.locator(".jp-NotebookPanel").screenshot(path=str(screenshots / "after_restart.png"))
    assert page.errors == [], page.errors


def test_a_plot_that_cannot_be_drawn_says_so_in_its_box_and_tells_the_kernel(browser) -> None:
    """The plot view's own front end on a blank page (no JupyterLab needed): a figure plotly
    cannot draw shows the reason in the plot's box and is reported back as an ``error``."""
    from plotly.offline import get_plotlyjs

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        good = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {"title": {"text": "fine"}}}
        mount_widget(page, asset("plot_view.js"), {"figure": good, "revision": 1}, plotly=get_plotlyjs())
        page.wait_for_selector(".ltl-plot[data-state='drawn']", state="attached", timeout=15_000)
        assert plots(page)[0]["traces"] == 1 and plots(page)[0]["title"] == "fine"
        bad = {"data": [{"type": "scatter", "x": {"dtype": "f8", "bdata": "%%% not base64 %%%"}, "y": [1]}],
               "layout": {"title": {"text": "broken"}}}
        page.evaluate("bad => window.__model.set('figure', bad)", bad)
        page.wait_for_selector(".ltl-plot[data-state='error']", state="attached", timeout=15_000)
        [shown] = plots(page)
        assert "could not be drawn" in shown["error"], shown
        sent = page.evaluate("() => window.__sent")
        assert [m["type"] for m in sent].count("need_plotly") == 1  # asked once, shared after
        assert any(m["type"] == "error" and m["message"] for m in sent), sent
        page.evaluate("good => window.__model.set('figure', good)", good)  # a good figure heals the box
        page.wait_for_selector(".ltl-plot[data-state='drawn']", state="attached", timeout=15_000)
        assert plots(page)[0]["error"] == ""
    finally:
        page.close()
    assert errors == [], errors


def test_a_view_without_a_kernel_says_it_cannot_draw(browser) -> None:
    page = browser.new_page()
    try:
        page.clock.install()
        mount_widget(page, asset("plot_view.js"), {"figure": {"data": [], "layout": {}}, "revision": 1}, plotly=None)
        page.clock.run_for(60_000)  # plotly.js never arrives
        page.wait_for_selector(".ltl-plot[data-state='error']", timeout=5_000)
        assert "kernel" in plots(page)[0]["error"]
    finally:
        page.close()
