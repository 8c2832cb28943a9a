"""Speculative execution: backups by hand, no task result ever lost, both copies' tokens counted."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab import run_sync
from llmteams_lab.metrics import speculation_summary, work_summary
from llmteams_lab.spec import FaultSpec, WorkTask, work_team

TURN_TOKENS = 200 + 60  # prompt_tokens + reply_tokens: pre-assigned workers read no messages


def two_agents(t2_work: int, slow_s: float, backup_after: float):
    tasks = [WorkTask("t1", files=("t1.py",)), WorkTask("t2", files=("t2.py",), work=t2_work)]
    spec = work_team(2, tasks=tasks, assignment="pre_assigned", execution="asynchronous", latency_jitter=0.0,
                     work={"backup_after": backup_after})
    return spec.replace(agents=[spec.agents[0], spec.agents[1].replace(latency_s=slow_s)])


def happenings(events: pl.DataFrame) -> list[tuple]:
    kinds = ("BackupStarted", "TaskCancelled", "TaskCompleted")
    return events.filter(pl.col("kind").is_in(kinds)).select("kind", "agent", "peer", "t_end", "value", "detail").rows()


def test_a_backup_of_a_straggler_wins_by_hand() -> None:
    """a1 takes 8 s a turn on t2 (2 units); a0 finishes t1 at 1 s, so peers take 1 s a unit
    and t2 is expected to take 2 s. a1's claim lands at 8 s (8 s elapsed > 1.5 x 2): a0
    starts a backup in its turn 8-9 s, finishes it in 9-10 s and wins; a1's copy (1 unit
    done) is cancelled."""
    events = run_sync(two_agents(2, 8.0, 1.5)).events
    assert happenings(events) == [
        ("TaskCompleted", "a0", None, 1.0, "t1", None),
        ("BackupStarted", "a0", "a1", 9.0, "t2", '{"elapsed_s":9.0,"expected_s":2.0}'),
        ("TaskCompleted", "a0", None, 10.0, "t2", None),
        ("TaskCancelled", "a1", "a0", 10.0, "t2", '{"copy":"primary","units":1}'),
    ]
    row = speculation_summary(events).row(0, named=True)
    assert row["makespan_s"] == 10.0 and (row["backups"], row["backups_won"], row["backups_lost"]) == (1, 1, 0)
    assert row["cancelled_tokens"] == TURN_TOKENS  # a1's claim turn; its second turn never landed
    without = run_sync(two_agents(2, 8.0, 1.5).replace(task={"kind": "work_division", "work": {
        "assignment": "pre_assigned", "tasks": [t.to_dict() for t in two_agents(2, 8.0, 1.5).task.work.dag]}})).events
    assert work_summary(without)["makespan_s"].item() == 16.0  # a1's two turns


def test_the_primary_can_win_and_the_backup_is_cancelled() -> None:
    """a1 takes 1.6 s a turn on t2 (4 units, expected 4 s): at 5 s (5 > 1.0 x 4) a0 starts
    a backup (landing at 6 s, 1 unit done); a1 finishes at 6.4 s and the backup is cancelled."""
    events = run_sync(two_agents(4, 1.6, 1.0)).events
    assert happenings(events)[1:] == [
        ("BackupStarted", "a0", "a1", 6.0, "t2", '{"elapsed_s":6.0,"expected_s":4.0}'),
        ("TaskCompleted", "a1", None, 6.4, "t2", None),
        ("TaskCancelled", "a0", "a1", 6.4, "t2", '{"copy":"backup","units":1}'),
    ]
    row = speculation_summary(events).row(0, named=True)
    assert (row["backups_won"], row["backups_lost"], row["cancelled_tokens"]) == (0, 1, TURN_TOKENS)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), backup_after=st.sampled_from([1.0, 1.25, 1.5, 2.0, 4.0]),
       factor=st.sampled_from([2.0, 5.0, 10.0]), error_rate=st.sampled_from([0.0, 0.3]),
       assignment=st.sampled_from(["pre_assigned", "self_claim"]), n=st.integers(2, 5))
def test_speculation_never_loses_a_result_and_counts_both_copies(seed: int, backup_after: float, factor: float,
                                                                  error_rate: float, assignment: str,
                                                                  n: int) -> None:
    tasks = [WorkTask(f"t{i}", files=(f"t{i}.py",), work=1 + i % 3,
                      dependencies=(f"t{i - 3}",) if i > 3 else ()) for i in range(1, 10)]
    spec = work_team(n, tasks=tasks, assignment=assignment, execution="asynchronous", seed=seed, max_rounds=2000,
                     work={"backup_after": backup_after, "error_rate": error_rate, "work_jitter": 0.5})
    spec = spec.replace(faults=[FaultSpec(kind="straggler", agent="a1", factor=factor)])
    events = run_sync(spec).events
    done = events.filter(pl.col("kind") == "TaskCompleted")
    assert sorted(done["value"].to_list()) == sorted(t.id for t in tasks)  # each task exactly once
    assert work_summary(events)["finished"].item()
    winners = dict(zip(done["value"], done["agent"]))
    for loser, winner, task, detail in events.filter(pl.col("kind") == "TaskCancelled").select(
            "agent", "peer", "value", "detail").rows():
        assert winners[task] == winner != loser  # the copy that finished is the one kept
        assert json.loads(detail)["copy"] in ("primary", "backup")
    replies = events.filter(pl.col("kind") == "AgentReplied")
    summary = speculation_summary(events).row(0, named=True)
    assert summary["tokens"] == int((replies["tokens_in"] + replies["tokens_out"]).sum())  # every copy's turns
    lost = set(events.filter(pl.col("kind") == "TaskCancelled").select("agent", "value").rows())
    by_hand = sum(r["tokens_in"] + r["tokens_out"] for r in replies.to_dicts()
                  if (r["agent"], json.loads(r["detail"])["task"]) in lost)
    assert summary["cancelled_tokens"] == by_hand
