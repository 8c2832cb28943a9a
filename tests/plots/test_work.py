"""Work-division views: progress against the speedup bounds, and who did what."""

from __future__ import annotations

from llmteams_lab.plots.style import TASK_STATE_COLORS
from llmteams_lab.plots.work import activity_figure, progress_figure


def test_progress_is_drawn_against_one_agent_amdahl_and_the_work_span_bound():
    fig = progress_figure([2, 4, 5], agents=4, tasks=20, chain=10)
    names = [t.name for t in fig.data]
    assert names[-1] == "tasks done" and list(fig.data[-1].y) == [0, 2, 4, 5]
    bound = next(t for t in fig.data if t.name.startswith("work/span bound"))
    assert "S ≤ 2.00" in bound.name, "min(n, W/C) = min(4, 20/10)"
    assert max(bound.y) == 20 and bound.y[1] == 2.0, "never more than W tasks; slope = the bound"
    serial = next(t for t in fig.data if t.name.startswith("one agent"))
    assert list(serial.y[:3]) == [0, 1, 2]


def test_tasks_of_several_units_count_work_not_tasks():
    """10 tasks of 3 units each (W = 30), 4 of them on the longest chain (C = 12): one agent
    finishes a task every 3 rounds, and the bound is min(n, W/C) = 2.5, not 10/4."""
    fig = progress_figure([0, 0, 1], agents=4, tasks=10, chain=12, work=30)
    serial = next(t for t in fig.data if t.name.startswith("one agent"))
    assert serial.y[3] == 1.0 and serial.y[12] == 4.0
    bound = next(t for t in fig.data if t.name.startswith("work/span bound"))
    assert "S ≤ 2.50" in bound.name and bound.y[12] == 10, "the whole DAG at the bound in max(C, W/n) = 12 rounds"


def test_the_gantt_chart_has_a_row_per_agent_and_a_colour_per_activity():
    cells = [(1, "a0", "working", "t1"), (1, "a1", "blocked", ""), (2, "a0", "completed", "t1")]
    fig = activity_figure(cells, ["a0", "a1"])
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == set(TASK_STATE_COLORS)
    assert list(by_name["working"].base) == [0.5] and list(by_name["completed"].y) == ["a0"]
    assert by_name["blocked"].marker.color == TASK_STATE_COLORS["blocked"]
    assert list(fig.layout.yaxis.categoryarray) == ["a0", "a1"]


def _frame(rows):
    """Events as the frame's columns the cells read (seq, round, kind, agent, value, detail)."""
    import polars as pl

    return pl.DataFrame([{"seq": i, "round": r, "kind": k, "agent": a, "value": v, "detail": d}
                         for i, (r, k, a, v, d) in enumerate(rows)])


def test_gantt_cells_follow_claims_to_completions_and_mark_lost_work():
    from llmteams_lab.plots.work import activity_cells

    cells = activity_cells(_frame([
        (1, "TaskClaimed", "a1", "t1", None), (1, "TaskClaimed", "a2", "t2", None),
        (3, "TaskFinished", "a1", "t1", None), (5, "TaskCompleted", "a1", "t1", None),   # waits 2 slices to commit
        (6, "TaskReassigned", "a0", "t2", '{"from": "a2"}'), (6, "TaskClaimed", "a3", "t2", None),
        (7, "TaskCompleted", "a3", "t2", None), (8, "TaskClaimed", "a1", "t3", None),
    ]))
    mine = {(r, a): (what, t) for r, a, what, t in cells}
    assert [mine[(r, "a1")][0] for r in range(1, 6)] == ["working", "working", "blocked", "blocked", "completed"]
    assert mine[(6, "a2")] == ("failed", "t2") and mine[(5, "a2")] == ("working", "t2")  # re-assigned away
    assert mine[(7, "a3")] == ("completed", "t2") and mine[(8, "a1")] == ("working", "t3")  # open at the end


def test_gantt_cells_of_an_elected_leader_s_team_and_of_a_work_division_team():
    from llmteams_lab import run_sync
    from llmteams_lab.plots.work import activity_cells
    from llmteams_lab.spec import election_team, work_team

    result = run_sync(election_team(4, seed=1, duty="assign", work={"parallel_fraction": 0.5, "size": 5}))
    cells = activity_cells(result.events)
    done = {(r["round"], r["agent"], r["value"]) for r in result.events.filter(
        result.events["kind"] == "TaskCompleted").iter_rows(named=True)}
    assert {(r, a, t) for r, a, what, t in cells if what == "completed"} == done and len(done) == 5
    assert any(what == "blocked" for _, _, what, _ in cells)  # finished, waiting for the commit
    plain = run_sync(work_team(3, p=0.5, size=6, seed=2))
    kinds = {what for _, _, what, _ in activity_cells(plain.events)}
    assert kinds <= {"working", "completed", "failed"} and "completed" in kinds


def test_a_claim_open_at_the_end_runs_to_the_last_round_given():
    """The lab keeps only the task events: ``last_round`` says where the run stands."""
    from llmteams_lab.plots.work import activity_cells

    events = _frame([(2, "TaskClaimed", "a1", "t1", None)])
    assert activity_cells(events) == [(2, "a1", "working", "t1")]
    assert activity_cells(events, last_round=4) == [(r, "a1", "working", "t1") for r in (2, 3, 4)]


def test_re_assignments_are_read_from_their_events_and_starred_on_the_gantt():
    import polars as pl

    from llmteams_lab.plots.work import reassignments

    events = _frame([(1, "TaskClaimed", "a2", "t2", None), (6, "TaskReassigned", "a0", "t2", '{"from": "a2"}'),
                     (6, "TaskClaimed", "a3", "t2", None)])
    events = events.with_columns(peer=pl.Series([None, "a3", None], dtype=pl.String))  # the leader gave it to a3
    moved = reassignments(events)
    assert moved == [(6, "a3", "t2", "a2")]
    fig = activity_figure([(1, "a2", "working", "t2")], ["a2", "a3"], reassigned=moved)
    star = fig.data[-1]
    assert star.name == "re-assigned" and list(star.x) == [6] and list(star.y) == ["a3"]
    assert [list(c) for c in star.customdata] == [["t2", "a2"]] and star.marker.symbol == "star"
    assert "re-assigned" not in {t.name for t in activity_figure([], ["a2"]).data}  # no star without one

