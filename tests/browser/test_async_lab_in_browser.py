"""An asynchronous team in the lab, and lesson 08, in a real JupyterLab with headless Chromium.

The first test steps an asynchronous team from the page (a slice, then one happening),
waits for the space-time diagram beside the team graph to be drawn with message arrows
and the failure detector's suspicions, clicks an arrow's head and reads the message it
stands for, then plays and pauses (the diagram follows). The second runs lesson 08 top to bottom and checks that every plot in it —
the lesson's figures and the lab's — is drawn. Screenshots go to ``test-output/browser``.
"""

from __future__ import annotations

import pytest

from tests.browser.jlab import open_and_run_all, status, wait_idle, wait_plots_drawn

pytestmark = pytest.mark.browser

CELL = """from llmteams_lab import FaultSpec, team
from llmteams_lab.ui import Lab

spec = team(6, protocol="debate", competence=0.5, conformity=0.5, seed=3, max_rounds=30).replace(
    execution="asynchronous", protocol={"kind": "debate", "wait": "all", "stop_at_consensus": False},
    detector={"timeout_s": 2.0}, network={"delay_s": 0.1, "jitter": 0.3, "tick_s": 1.0},
    faults=[FaultSpec(kind="crash", agent="a1", at_round=2), FaultSpec(kind="straggler", agent="a2", factor=4.0)])
lab = Lab(spec)
for _ in range(3):
    await lab.step()
lab"""

# The arrow head standing farthest from every other point of the diagram (so a click on it
# cannot land on a turn's end or another arrow), and where it is on the page.
PICK_HEAD = """() => {
    const gd = document.querySelector('.ltl-spacetime .js-plotly-plot');
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, rect = gd.getBoundingClientRect();
    const px = (x, y) => [rect.x + xa._offset + xa.l2p(x), rect.y + ya._offset + ya.l2p(y)];
    const shown = gd.data.filter(t => t.visible !== 'legendonly' && t.hoverinfo !== 'skip');  // clickable ones
    const all = [];
    shown.forEach(t => (t.x || []).forEach((x, k) => { if (x !== null && t.y[k] !== null) all.push([t, k, ...px(x, t.y[k])]); }));
    let best = null;
    shown.forEach(t => {
        if (!t.customdata || !t.marker || t.marker.symbol !== 'triangle-right') return;
        t.x.forEach((x, k) => {
            const [X, Y] = px(x, t.y[k]);
            const d = Math.min(...all.filter(p => p[0] !== t || p[1] !== k).map(p => Math.hypot(p[2] - X, p[3] - Y)));
            if (!best || d > best.d) best = {d, seq: t.customdata[k], x: X, y: Y};
        });
    });
    return best;
}"""



def _status_round(page, r: int) -> None:
    page.wait_for_function("r => +(document.querySelector('.ltl-status-line') || {dataset: {}}).dataset.round === r"
                           " && document.querySelector('.ltl-status-line').dataset.state === 'idle'", arg=r,
                           timeout=20_000)


def test_an_async_team_steps_and_its_space_time_diagram_reads_a_clicked_message(page, jupyterlab,
                                                                                 screenshots) -> None:
    open_and_run_all(page, jupyterlab, jupyterlab.write("async_lab.ipynb", CELL))
    wait_idle(page)
    _status_round(page, 3)
    assert page.locator(".ltl-scrubber-box").get_attribute("data-unit") == "slice"
    assert "virtual time" in status(page)["text"]
    page.click(".ltl-step")  # a slice from the page
    _status_round(page, 4)
    before = float(page.locator(".ltl-status-line").get_attribute("data-time"))
    page.click(".ltl-happening")  # one happening: the clock moves into slice 5
    page.wait_for_function("t => +document.querySelector('.ltl-status-line').dataset.time > t", arg=before,
                           timeout=20_000)
    plots = wait_plots_drawn(page, 3)  # the two live plots and the space-time diagram
    diagram = [p for p in plots if p["title"].startswith("Space-time")]
    assert diagram and diagram[0]["traces"] >= 4 and not diagram[0]["error"]
    names = page.evaluate("() => document.querySelector('.ltl-spacetime .js-plotly-plot').data.map(t => t.name)")
    assert "suspected" in names and any(str(n).startswith("message:") for n in names), names
    crashed = page.locator(".ltl-graph .ltl-node[data-agent='a1']")
    assert crashed.get_attribute("data-state") == "crashed"
    assert "suspected" in crashed.get_attribute("data-faults").split(",")
    page.wait_for_timeout(500)  # the diagram's last redraw has landed (the run is idle)
    head = page.evaluate(PICK_HEAD)
    assert head["d"] > 4, f"every arrow head is within {head['d']} px of another point: too crowded to click"
    page.mouse.click(head["x"], head["y"])
    reader = page.locator(".ltl-spacetime-message")
    reader.wait_for(timeout=10_000)
    assert reader.get_attribute("data-seq") == str(head["seq"])
    text = reader.text_content()
    assert "→" in text and "sent at t =" in text and "delivered at t =" in text and "answer" in text, text
    revision = int(page.locator(".ltl-spacetime .ltl-plot").get_attribute("data-revision"))
    r = status(page)["round"]
    page.click(".ltl-play")  # Play keeps advancing slice after slice; the diagram follows
    page.wait_for_function("r => +document.querySelector('.ltl-status-line').dataset.round >= r + 2", arg=r,
                           timeout=20_000)
    page.click(".ltl-play")  # Pause
    page.wait_for_function("() => document.querySelector('.ltl-status-line').dataset.state === 'idle'",
                           timeout=20_000)
    page.wait_for_function("v => +document.querySelector('.ltl-spacetime .ltl-plot').dataset.revision > v",
                           arg=revision, timeout=20_000)
    page.wait_for_timeout(400)
    page.locator(".ltl-lab").screenshot(path=str(screenshots / "async_lab.png"))
    page.locator(".ltl-spacetime").screenshot(path=str(screenshots / "async_spacetime.png"))
    assert page.errors == []


def test_lesson_08_draws_every_plot(page, jupyterlab, screenshots) -> None:
    open_and_run_all(page, jupyterlab, jupyterlab.add("08_synchrony_and_timeouts.ipynb"))
    wait_idle(page, timeout_ms=120_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert page.locator(".jp-OutputArea-output .jp-RenderedText[data-mime-type*='error']").count() == 0
    assert errors.count() == 0, errors.all_text_contents()
    wait_plots_drawn(page, 3)  # the lab's live plots and its space-time diagram
    try:
        page.wait_for_function("""() => {
            const gds = [...document.querySelectorAll('.jp-OutputArea .js-plotly-plot')];
            // _fullData: the data as drawn (a figure's numpy columns arrive base64-encoded in gd.data)
            return gds.length >= 7 && gds.every(gd => gd._fullData && gd._fullData.length > 0
                && gd._fullData.some(t => t.x && t.x.length > 0)
                && ((gd.querySelector('.gtitle') || {}).textContent || '').length > 0);
        }""", timeout=30_000)
    except Exception as err:  # name what is on screen instead of a bare timeout
        page.locator(".jp-NotebookPanel").screenshot(path=str(screenshots / "lesson_08.png"))
        drawn = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea .js-plotly-plot')].map(gd => ({
            traces: (gd.data || []).length, title: (gd.querySelector('.gtitle') || {}).textContent || ''}))""")
        mimes = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea-output')].map(o => o.dataset.mimeType)")
        raise AssertionError(f"lesson 08's plots not all drawn: {drawn}; outputs {mimes}") from err
    titles = page.evaluate("() => [...document.querySelectorAll('.jp-OutputArea .js-plotly-plot')]"
                           ".map(gd => gd.querySelector('.gtitle').textContent)")
    assert sum(t.startswith("Synchronous rounds") or t.startswith("Asynchronous") or t.startswith("a1 crashed")
               for t in titles) == 3, titles
    assert any(t.startswith("The timeout's trade-off") for t in titles), titles
    assert any(t.startswith("Space-time diagram") for t in titles), titles
    page.wait_for_timeout(400)
    page.locator(".jp-NotebookPanel").screenshot(path=str(screenshots / "lesson_08.png"))
    page.locator(".jp-OutputArea .js-plotly-plot").nth(2).screenshot(path=str(screenshots / "lesson_08_detector.png"))
    page.locator(".ltl-lab").screenshot(path=str(screenshots / "lesson_08_lab.png"))
    assert page.errors == []
