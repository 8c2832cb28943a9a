"""Work-division metrics on hand-made logs (exact definitions) and on live vs replayed runs."""

from __future__ import annotations

import asyncio

import polars as pl
import pytest

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
    work_summary,
    write_conflicts,
)
from llmteams_lab.spec import work_team


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
                 "concurrent_writes": 2, "rewrites": 1, "test_runs": 3, "test_failures": 1, "replies": 3,
                 "peer_messages": 3, "idle_rounds": 1, "tokens": 275 + 1001}


def test_write_conflicts_and_idle_rounds_alone() -> None:
    assert write_conflicts(log()).rows() == [("r", 2, 1)]
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
    assert out["amdahl"].to_list()[2] == pytest.approx(4 / 3) and out["critical_path"].to_list()[3] == 2.0
    whole = speedups(runs.filter(pl.col("key") == "a"))
    assert whole.filter(pl.col("n_agents") == 2)["speedup"].to_list() == [1.5]


def test_bounds_on_numbers_and_expressions() -> None:
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
