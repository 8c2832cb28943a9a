"""Work-division metrics on hand-made logs (exact definitions) and on live vs replayed runs."""

from __future__ import annotations

import asyncio

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from llmteams_lab import run_sync
from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.events import (
    AgentReplied,
    ClaimBlocked,
    FileWritten,
    LockDenied,
    MessageSent,
    RoundStarted,
    RunEnded,
    RunStarted,
    TaskClaimed,
    TaskCompleted,
    TestsRan,
)
from llmteams_lab.metrics import (
    amdahl,
    critical_path_bound,
    events_frame,
    idle_rounds,
    run_specs,
    speedups,
    straggler_gaps,
    work_bounds,
    work_summary,
    write_conflicts,
)
from llmteams_lab.spec import FaultSpec, work_team


def log(run: str = "r") -> pl.DataFrame:
    rows = [
        RunStarted(run, 0, 0, detail=work_team(2, p=0.9, assignment="pre_assigned").to_json()),
        RoundStarted(run, 1, 1, t_start=0.0, t_end=0.0),
        AgentReplied(run, 1, 2, "a0", t_start=0.0, t_end=2.0, tokens_in=100, tokens_out=10),
        TaskClaimed(run, 1, 3, "a0", value="t1"),
        FileWritten(run, 1, 4, "a0", value="x.py"),
        FileWritten(run, 1, 5, "a0", value="y.py"),
        FileWritten(run, 1, 6, "a0", value="y.py"),
        AgentReplied(run, 1, 7, "a1", t_start=0.0, t_end=5.0, tokens_in=100, tokens_out=10),
        ClaimBlocked(run, 1, 8, "a1", value="t1", detail="already_claimed"),
        FileWritten(run, 1, 9, "a1", value="x.py"),
        LockDenied(run, 1, 10, "a1", "a0", value="z.py"),
        TestsRan(run, 1, 11, "a0", value="1", correct=False),
        MessageSent(run, 1, 12, "a0", "a1", count=3),
        RoundStarted(run, 2, 13, t_start=5.0, t_end=5.0),
        AgentReplied(run, 2, 14, "a0", t_start=5.0, t_end=6.0, tokens_in=50, tokens_out=5),
        FileWritten(run, 2, 15, "a0", value="x.py"),
        TestsRan(run, 2, 16, "a0", value="0", correct=True),
        TestsRan(run, 2, 17, "a0", value="5", correct=False),
        TaskCompleted(run, 2, 18, "a0", value="t1"),
        RunEnded(run, 2, 19, t_start=7.5, t_end=7.5, detail="all_tasks_done", tokens_in=1000, tokens_out=1),
    ]
    return events_frame(rows)


def test_the_summary_counts_by_the_papers_definitions() -> None:
    s = work_summary(log()).row(0, named=True)
    assert s == {"run_id": "r", "n_agents": 2, "finished": True, "makespan_rounds": 2, "makespan_s": 7.5,
                 "tasks_completed": 1, "claims": 1, "blocked_claims": 1, "lock_denied": 1, "writes": 5,
                 "concurrent_writes": 1, "contended_writes": 2, "rewrites": 1, "test_runs": 3, "test_failures": 1, "replies": 3,
                 "peer_messages": 3, "idle_rounds": 1, "tokens": 275 + 1001}


def test_concurrent_writes_count_cells_as_the_paper_does() -> None:
    """The paper counts (round, file) cells written by two or more agents: three agents on
    one file in one round are 1 concurrent write (and 3 contended writes); one agent
    writing a file twice is none; the same pair again next round is a second cell."""
    rows = [RunStarted("c", 0, 0)]
    for seq, (rnd, agent, path) in enumerate([(1, "a", "f"), (1, "b", "f"), (1, "c", "f"), (1, "a", "g"),
                                               (1, "a", "g"), (2, "a", "f"), (2, "b", "f"), (2, "c", "h")], 1):
        rows.append(FileWritten("c", rnd, seq, agent, value=path))
    # concurrent: (1, f) and (2, f); contended: 3 + 2 writes; rewrites: f's two writes in round 2
    assert write_conflicts(events_frame(rows)).rows() == [("c", 2, 5, 2)]


def test_write_conflicts_and_idle_rounds_alone() -> None:
    assert write_conflicts(log()).rows() == [("r", 1, 2, 1)]
    assert idle_rounds(log()).rows() == [("r", 1)]
    empty = events_frame([RunStarted("q", 0, 0)])
    assert write_conflicts(empty).is_empty() and work_summary(empty).row(0, named=True)["writes"] == 0


def test_straggler_gap_is_max_minus_mean_over_rounds_with_two_replies() -> None:
    gaps = straggler_gaps(log())
    assert gaps.select("round", "replies", "max_latency", "mean_latency", "gap_s").rows() == [(1, 2, 5.0, 3.5, 1.5)]
    assert straggler_gaps(log(), max_latency_s=4.0).is_empty()


def test_speedups_against_the_matching_single_agent_runs() -> None:
    runs = pl.DataFrame({
        "key": ["a", "a", "a", "a", "b", "b"], "n_agents": [1, 1, 2, 4, 1, 2], "p": [0.5] * 6,
        "finished": [True, True, True, False, True, True], "makespan_s": [10.0, 14.0, 8.0, 3.0, 5.0, 10.0],
        "tokens": [100, 300, 500, 900, 50, 50]})
    out = speedups(runs, ["key"], p="p").sort("key", "n_agents", "makespan_s")
    assert out["speedup"].to_list() == [1.2, 12 / 14, 1.5, None, 1.0, 0.5]
    assert out["token_multiplier"].to_list() == [0.5, 1.5, 2.5, None, 1.0, 1.0]
    assert out["efficiency"].to_list()[2] == 0.75
    assert out["amdahl"].to_list()[2] == pytest.approx(4 / 3)  # 1/((1 − 0.5) + 0.5/2), a reference
    assert "critical_path" not in out.columns  # nothing bounds a measured speedup: see work_bounds
    whole = speedups(runs.filter(pl.col("key") == "a"))
    assert whole.filter(pl.col("n_agents") == 2)["speedup"].to_list() == [1.5]


def test_amdahl_and_the_bound_on_numbers_and_expressions() -> None:
    assert amdahl(0.9, 5) == pytest.approx(1 / 0.28)
    assert critical_path_bound(0.9, 5) == 5.0 and critical_path_bound(0.5, 5) == 2.0
    assert critical_path_bound(1.0, 3) == 3
    frame = pl.DataFrame({"p": [0.5, 0.9], "n": [3.0, 3.0]})
    out = frame.select(a=amdahl(pl.col("p"), pl.col("n")), c=critical_path_bound(pl.col("p"), pl.col("n")))
    assert out.rows() == [(pytest.approx(1.5), 2.0), (pytest.approx(1 / 0.4), 3.0)]


def test_run_specs_read_the_spec_of_each_run() -> None:
    row = run_specs(log()).row(0, named=True)
    assert row == {"run_id": "r", "name": "work-pre_assigned", "seed": 0, "agents": 2, "task": "work_division",
                   "assignment": "pre_assigned", "parallel_fraction": 0.9, "source": None}


def test_the_same_numbers_on_a_live_run_and_its_replay() -> None:
    live = run_sync(work_team(4, p=0.5, seed=9, work={"locks": False, "error_rate": 0.2}))
    replayed = asyncio.run(ReplayRun(live.records).run())
    assert work_summary(replayed.events).equals(work_summary(live.events))
    assert straggler_gaps(replayed.events).equals(straggler_gaps(live.events))


# --- the bound: no simulated run ever exceeds it ---------------------------------------------------------

def test_work_bounds_known_answers() -> None:
    """Pre-assigned unit tasks, p = 0.75 (W = 20, C = 5), n = 8: C + ⌊15/8⌋ = 6 rounds, so
    the work speedup is 20/6 = 3.33 — above Amdahl's 1/(0.25 + 0.75/8) = 2.91 (a reference
    model), below the bound min(8, 20/5) = 4."""
    events = run_sync(work_team(8, p=0.75, assignment="pre_assigned", latency_jitter=0.0)).events
    row = work_bounds(events).row(0, named=True)
    assert {k: row[k] for k in ("workers", "work", "span", "min_rounds", "makespan_rounds", "finished")} == {
        "workers": 8, "work": 20, "span": 5, "min_rounds": 5, "makespan_rounds": 6, "finished": True}
    assert row["work_speedup"] == pytest.approx(20 / 6) and row["work_span_bound"] == 4.0
    assert amdahl(0.75, 8) == pytest.approx(1 / (0.25 + 0.75 / 8))
    assert amdahl(0.75, 8) < row["work_speedup"]
    assert work_bounds(events.filter(pl.col("kind") != "RunStarted")).is_empty()  # no spec: no bound


def test_work_bounds_only_for_simulated_workers() -> None:
    """A round is one unit of work only for simulated workers: LLM agents (the paper's
    runs finish 16-task chains in single rounds) get no bound."""
    assert work_bounds(log()).select("work", "span", "workers").rows() == [(20, 2, 2)]
    llm = log().with_columns(pl.col("detail").str.replace_all('"backend": "simulated"', '"backend": "mock"'))
    assert work_bounds(llm).is_empty()


@settings(max_examples=60, deadline=None)
@example(n=8, size=20, p=0.2, assignment="self_claim", jitter=0.0, eagerness=0.5, error_rate=0.0, locks=True,
         crash=False, seed=0)  # eager claims once finished a 16-task chain in 11 rounds (board.ready)
@given(n=st.integers(1, 8), size=st.integers(2, 24), p=st.floats(0.0, 1.0),
       assignment=st.sampled_from(["pre_assigned", "self_claim", "lead_assigned"]),
       jitter=st.sampled_from([0.0, 0.6]), eagerness=st.sampled_from([0.0, 0.5, 1.0]),
       error_rate=st.sampled_from([0.0, 0.3]), locks=st.booleans(), crash=st.booleans(), seed=st.integers(0, 10**6))
def test_no_simulated_run_exceeds_the_critical_path_bound(n, size, p, assignment, jitter, eagerness, error_rate,
                                                          locks, crash, seed) -> None:
    """Whatever the team, DAG, assignment, worker profile and crashes: a finished run took
    at least max(C, ⌈W/w⌉) rounds, so its work speedup stays within min(w, W/C)."""
    if assignment == "lead_assigned" and n < 2:
        n = 2
    spec = work_team(n, p=p, size=size, assignment=assignment, seed=seed, latency_jitter=0.3,
                     work={"work_jitter": jitter, "eagerness": eagerness, "error_rate": error_rate, "locks": locks})
    if crash and n > 1:
        spec = spec.replace(faults=[FaultSpec(kind="crash", agent=spec.ids[-1], at_round=2)])
    row = work_bounds(run_sync(spec).events).row(0, named=True)
    assert row["makespan_rounds"] >= row["min_rounds"] or not row["finished"]
    if row["finished"]:
        assert row["work_speedup"] <= row["work_span_bound"] + 1e-12
        p_drawn = 1 - row["span"] / row["work"]  # the DAG's p as its work was drawn
        assert row["work_span_bound"] == pytest.approx(critical_path_bound(p_drawn, row["workers"]))
