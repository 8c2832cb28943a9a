"""The lab's work view (progress and Gantt) for every team with work: a work-division team,
and an election team whose elected leader assigns the tasks (``duty="assign"``) — fed
live, round by round, with the same cells a lesson reads from the finished run."""

from __future__ import annotations

from llmteams_lab import Run
from llmteams_lab.datasets import replay_trace
from llmteams_lab.metrics import events_frame
from llmteams_lab.plots.work import activity_cells, reassignments
from llmteams_lab.spec import election_team, team, work_team
from llmteams_lab.ui import Lab
from llmteams_lab.ui.work_figures import TaskSpans, WorkFigures, shows_work
from tests.support import aio

CRASH_AT = 24  # the leader a0 crashes from slice 25: its successor's own task is re-assigned


def _assigning_team(max_rounds: int = 120):
    return election_team(5, seed=0, duty="assign", work={"parallel_fraction": 0.75, "size": 10},
                         max_rounds=max_rounds)


def _leader(lab: Lab) -> str:
    [leader] = [a for a, role in zip(lab.spec.ids, lab.history[-1].roles) if role == "leader"]
    return leader


async def _until_reassigned(lab: Lab) -> None:
    while not lab.controller.run.done and not any(e.kind == "TaskReassigned" for e in lab.controller.run.events):
        await lab.step()


def test_every_team_with_a_work_dag_shows_work():
    assert shows_work(work_team(3, p=0.5, seed=1))
    assert shows_work(_assigning_team())
    assert not shows_work(election_team(5, seed=0, decisions=1))
    assert not shows_work(team(3, seed=1))


@aio
async def test_an_elected_leader_s_team_shows_its_work_live_and_its_re_assignments():
    lab = Lab(_assigning_team())
    assert isinstance(lab.figures, WorkFigures)
    titles = [v.figure["layout"]["title"]["text"] for v in lab.figures.views]
    assert titles == ["Progress vs speedup bounds", "Who did what, round by round"]
    axes = [v.figure["layout"]["xaxis"]["title"]["text"] for v in lab.figures.views]
    assert axes == ["slice", "slice"], "an asynchronous team's rounds are slices of virtual time"
    while lab.controller.round < CRASH_AT:
        await lab.step()
    leader = _leader(lab)
    assert lab.figures.cells == activity_cells(lab.events), "the live cells are the finished-run cells so far"
    assert {what for _, _, what, _ in lab.figures.cells} >= {"working"}
    assert "progress <b>" in lab.controls.status.value and "✗" not in lab.controls.status.value
    lab.inject({"kind": "crash", "agent": leader})
    await _until_reassigned(lab)
    await lab.step()
    events = lab.events
    moved = reassignments(events)
    assert moved and moved[0][3] != leader, "the successor's own task went to a follower"
    assert lab.figures.cells == activity_cells(events) and lab.figures.reassigned == moved
    star = lab.figures.activity.figure["data"][-1]
    assert star["name"] == "re-assigned" and star["customdata"][0][0] == moved[0][2]
    completed = events.filter(events["kind"] == "TaskCompleted").height
    assert lab.figures.done[-1] == completed and len(lab.figures.done) == lab.controller.round


@aio
async def test_a_fork_keeps_the_work_up_to_its_round_and_goes_on_from_there():
    lab = Lab(_assigning_team())
    while lab.controller.round < CRASH_AT:
        await lab.step()
    lab.inject({"kind": "crash", "agent": _leader(lab)})
    await _until_reassigned(lab)
    k = CRASH_AT + 6  # before the re-assignment: the fork's future has its own
    await lab.fork(k)
    kept = lab.events.filter(lab.events["round"] <= k)
    assert lab.figures.cells == activity_cells(kept, last_round=k) and lab.figures.reassigned == []
    assert len(lab.figures.done) == k
    for _ in range(5):
        await lab.step()
    assert lab.figures.cells == activity_cells(lab.events)
    assert lab.figures.reassigned == reassignments(lab.events)


@aio
async def test_task_spans_fed_round_by_round_give_the_whole_run_s_cells():
    run = Run(_assigning_team(max_rounds=60).replace(faults=[{"kind": "crash", "agent": "a0", "at_round": 25}]))
    spans, seen = TaskSpans(), 0
    while not run.done:
        summary = await run.step()
        spans.add(run.events[seen:], summary.round)
        seen = len(run.events)
    whole = events_frame(run.events)
    assert spans.cells() == activity_cells(whole) and spans.cells()
    assert spans.reassigned() == reassignments(whole) and spans.reassigned()
    spans.truncate(20)
    assert spans.cells() == activity_cells(whole.filter(whole["round"] <= 20), last_round=20)


@aio
async def test_a_replay_of_an_elected_leader_s_project_shows_the_same_work():
    live = await Run(_assigning_team(max_rounds=60).replace(
        faults=[{"kind": "crash", "agent": "a0", "at_round": 25}])).run()
    lab = Lab.replay(replay_trace(live.events))
    assert isinstance(lab.figures, WorkFigures)
    await lab.run()
    assert lab.figures.cells == activity_cells(live.events) and lab.figures.reassigned == reassignments(live.events)
