"""An elected leader's team at work, in a real JupyterLab: a Raft team whose leader assigns
the tasks of a work DAG (``duty="assign"``) shows the work view — progress against the
speedup bounds and the Gantt chart of who did what — live as it steps. The user crashes
the leader by clicking it, plays the project to its end, and the Gantt shows the new leader's re-assignment
(a star on the row of the follower the task went to) and that follower working on it.
Screenshots go to ``test-output/browser``."""

from __future__ import annotations

import re

import pytest

from tests.browser.jlab import open_and_run_all, status, wait_idle, wait_plots_drawn

pytestmark = pytest.mark.browser

GANTT = "Who did what, round by round"
SOURCE = """\
from llmteams_lab.spec import election_team
from llmteams_lab.ui import Lab

lab = Lab(election_team(5, seed=0, duty="assign", work={"parallel_fraction": 0.75, "size": 10}, max_rounds=120),
          speed=10)
while lab.controller.round < 24:
    await lab.step()
[leader] = [a for a, role in zip(lab.spec.ids, lab.history[-1].roles) if role == "leader"]
print(f"LEADER {leader} ROUND {lab.controller.round}")
lab
"""

READ_GANTT = """title => {
    const gd = [...document.querySelectorAll('.js-plotly-plot')]
        .find(p => (p.querySelector('.gtitle') || {}).textContent === title);
    if (!gd || !gd.data) return null;
    const out = {};
    for (const t of gd.data)
        out[t.name] = Array.from(t.y || []).map((agent, i) => ({agent, round: (t.customdata || [])[i]
            ? (t.name === 're-assigned' ? t.x[i] : t.customdata[i][0]) : null,
            task: (t.customdata || [])[i] ? (t.name === 're-assigned' ? t.customdata[i][0] : t.customdata[i][1])
            : null, from: t.name === 're-assigned' ? t.customdata[i][1] : null}));
    return out;
}"""

# the Gantt shows a re-assignment, and the follower it went to working on that task after it
REASSIGNED_AND_WORKED_ON = """title => {
    const gd = [...document.querySelectorAll('.js-plotly-plot')]
        .find(p => (p.querySelector('.gtitle') || {}).textContent === title);
    if (!gd || !gd.data) return false;
    const star = gd.data.find(t => t.name === 're-assigned');
    const working = gd.data.find(t => t.name === 'working');
    if (!star || !star.x || !star.x.length || !working) return false;
    const [round, agent, task] = [star.x[0], star.y[0], star.customdata[0][0]];
    return Array.from(working.y).some((a, i) => a === agent && working.customdata[i][1] === task
                                                && working.customdata[i][0] >= round);
}"""

ALL_COMPLETED = """title => {
    const gd = [...document.querySelectorAll('.js-plotly-plot')]
        .find(p => (p.querySelector('.gtitle') || {}).textContent === title);
    const done = gd && gd.data && gd.data.find(t => t.name === 'completed');
    return !!done && Array.from(done.y || []).length === 10;
}"""


def test_an_elected_leader_s_team_shows_its_work_and_the_re_assignment_after_its_leader_crashes(
        page, jupyterlab, screenshots) -> None:
    open_and_run_all(page, jupyterlab, jupyterlab.write("assigned_work.ipynb", SOURCE))
    wait_idle(page)
    printed = " ".join(page.locator(".jp-OutputArea").all_text_contents())
    found = re.search(r"LEADER (a\d) ROUND (\d+)", printed)
    assert found, printed
    leader, round_ = found.group(1), found.group(2)
    page.wait_for_function("r => document.querySelector('.ltl-graph')?.dataset.round === r", arg=round_,
                           timeout=20_000)
    drawn = wait_plots_drawn(page, 3)  # the work view's two, and the space-time diagram (an asynchronous team)
    assert [p["title"] for p in drawn] == ["Space-time diagram", "Progress vs speedup bounds", GANTT]
    gantt = page.evaluate(READ_GANTT, GANTT)
    assert gantt["working"], "followers are working on their committed assignments"
    assert {c["task"] for c in gantt["working"]} <= {f"t{k}" for k in range(1, 11)}
    assert leader not in {c["agent"] for c in gantt["working"]}, "a leader coordinates, it does not work"
    assert "re-assigned" not in gantt
    assert "progress" in status(page)["text"] and "✗" not in status(page)["text"]

    page.click(f'.ltl-graph .ltl-node[data-agent="{leader}"]')  # the fault actions for the leader
    page.click(".ltl-fault-crash")
    page.wait_for_selector(".ltl-fault-panel .ltl-ok", timeout=10_000)
    page.click(".ltl-play")  # to the end of the project (a Pause click could race the run's end)
    page.wait_for_function(REASSIGNED_AND_WORKED_ON, arg=GANTT, timeout=90_000)
    page.wait_for_function("() => document.querySelector('.ltl-status-line')?.dataset.state === 'finished'",
                           timeout=90_000)
    page.wait_for_function(ALL_COMPLETED, arg=GANTT, timeout=20_000)  # the plots follow the end a moment later

    gantt = page.evaluate(READ_GANTT, GANTT)
    [star] = gantt["re-assigned"]
    assert star["agent"] != leader and star["from"] != leader, "the new leader gave its own task to a follower"
    assert page.locator(f'.ltl-graph .ltl-node[data-agent="{leader}"]').get_attribute("data-state") == "crashed"
    new_leader = page.locator('.ltl-graph .ltl-node[data-role="leader"]:not([data-state="crashed"])')
    assert new_leader.count() == 1 and new_leader.get_attribute("data-agent") == star["from"]
    assert gantt["completed"] and gantt["blocked"], "completions, and finished work waiting for its commit"
    assert sorted({c["task"] for c in gantt["completed"]}) == sorted(f"t{k}" for k in range(1, 11))
    assert "progress 10/10 tasks done ✓" in status(page)["text"]
    page.locator(".ltl-main").first.screenshot(path=str(screenshots / "election_assigned_work.png"))
    assert page.errors == [], page.errors
