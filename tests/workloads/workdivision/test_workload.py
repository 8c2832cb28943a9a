"""The work-division workload through the engine: Amdahl, stale views, locks, rework, modes."""

from __future__ import annotations

import json

import polars as pl
import pytest

from llmteams_lab import Run, run_sync
from llmteams_lab.backends import MockBackend
from llmteams_lab.errors import RateLimitedError
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.messages import AgentReply, AgentRequest
from llmteams_lab.metrics import speedups, work_bounds, work_summary
from llmteams_lab.runtime.dispatch import resolve_backends
from llmteams_lab.spec import team, work_team
from llmteams_lab.workloads import workload_for
from llmteams_lab.workloads.workdivision.codec import parse_actions
from llmteams_lab.workloads.workdivision.dag import (
    amdahl,
    assigned_makespan,
    chain_assignment,
)
from tests.support import PAPER_DATA, ROOT, aio

DATA = PAPER_DATA
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="the paper's data is not at ../shared/data")
CHAINS = {"p02": 16, "p05": 10, "p09": 2}


def summary(events: pl.DataFrame) -> dict:
    return work_summary(events).row(0, named=True)


@needs_data
@pytest.mark.parametrize("suite", ["amdahl_dataanalysis", "amdahl_mathutilities20", "amdahl_svgutils"])
@pytest.mark.parametrize("label", sorted(CHAINS))
def test_pre_assigned_unit_tasks_beat_amdahls_model_and_never_the_critical_path_bound(suite, label) -> None:
    """Chains stay on one agent, which also takes its round-robin share of the W − C free
    tasks: makespan C + ⌊(W − C)/n⌋ rounds, so S(n) equals Amdahl's 1/((1−p) + p/n)
    exactly when n divides W − C, and lies above it otherwise — Amdahl is a reference
    model here, not a bound; min(n, W/C) is the bound."""
    source = str(DATA / "tasks" / suite / f"{label}.json")
    chain, free, p = CHAINS[label], 20 - CHAINS[label], (20 - CHAINS[label]) / 20
    frames = [run_sync(work_team(n, assignment="pre_assigned", source=source, latency_jitter=0.0)).events
              for n in range(1, 6)]
    events = pl.concat(frames)
    table = speedups(work_summary(events).with_columns(p=pl.lit(p)), p="p").sort("n_agents")
    table = table.join(work_bounds(events).select("run_id", "work_speedup", "work_span_bound"), on="run_id")
    assert table["finished"].all() and table["tasks_completed"].to_list() == [20] * 5
    for row in table.iter_rows(named=True):
        n = row["n_agents"]
        assert row["makespan_rounds"] == chain + free // n
        assert row["makespan_s"] == pytest.approx(row["makespan_rounds"])  # latency 1 s, no jitter
        assert row["blocked_claims"] == 0 and row["peer_messages"] == 0 and row["concurrent_writes"] == 0
        if free % n == 0:
            assert row["speedup"] == pytest.approx(amdahl(p, n), abs=1e-12)
            assert row["speedup"] == pytest.approx(row["amdahl"], abs=1e-12)
        else:
            assert row["speedup"] > row["amdahl"]
        assert row["speedup"] == pytest.approx(row["work_speedup"])  # the n = 1 team does W rounds exactly
        assert row["speedup"] <= min(n, 20 / chain) + 1e-12 and row["work_span_bound"] == min(n, 20 / chain)


def test_generated_dags_and_jittered_latency_keep_the_round_makespan() -> None:
    spec = work_team(4, assignment="pre_assigned", p=0.5, seed=2)
    result = run_sync(spec)
    owner = chain_assignment(spec.task.work.dag, spec.ids)
    assert result.rounds == assigned_makespan(spec.task.work.dag, owner) == 12
    assert result.reason == "all_tasks_done" and result.decision == "20/20 tasks done" and result.correct


def test_self_claimers_on_a_stale_board_collide_and_the_board_arbitrates() -> None:
    result = run_sync(work_team(5, p=0.9, seed=1))
    ev = result.events
    blocked = ev.filter(pl.col("kind") == "ClaimBlocked")
    # the race's loser finds the task taken (or already finished) by an agent earlier in the round
    assert blocked.height > 0 and set(blocked["detail"]) <= {"already_claimed", "already_done"}
    # the loser of a claim race still writes the file it believed it had: the lock refuses it
    denied = ev.filter(pl.col("kind") == "LockDenied")
    assert denied.height > 0 and denied["peer"].null_count() == 0
    s = summary(ev)
    assert s["finished"] and s["tasks_completed"] == 20 and s["claims"] == 20
    # every agent tells every other agent what it did: O(n²) messages a round
    assert s["peer_messages"] == 4 * ev.filter(pl.col("kind") == "AgentReplied")["value"].str.contains("message").sum()


def test_without_locks_concurrent_writes_clobber_work_that_is_then_redone() -> None:
    result = run_sync(work_team(5, p=0.9, seed=1, work={"locks": False}))
    s = summary(result.events)
    assert s["lock_denied"] == 0 and s["concurrent_writes"] > 0 and s["rewrites"] > 0
    clobbered = [json.loads(d)["clobbered"] for d in result.events.filter(pl.col("kind") == "FileWritten")["detail"]
                 if d]
    assert any(clobbered)
    assert s["finished"] and s["tasks_completed"] > 20  # reopened tasks are completed again


def test_faulty_work_fails_tests_and_is_reworked() -> None:
    result = run_sync(work_team(2, p=0.5, seed=3, work={"error_rate": 0.4}))
    ev = result.events
    tests = ev.filter(pl.col("kind") == "TestsRan")
    failed = tests.filter(~pl.col("correct"))
    assert failed.height > 0 and set(failed["value"]) == {"1"}
    assert set(tests.filter(pl.col("correct"))["value"]) == {"0"}
    s = summary(ev)
    assert s["test_failures"] == failed.height and s["tasks_completed"] == 20 and s["finished"]
    assert s["rewrites"] >= failed.height
    assert result.rounds > 20 // 2


def test_multi_round_tasks_and_eager_claimers() -> None:
    result = run_sync(work_team(3, p=0.5, seed=5, work={"work_jitter": 1.0, "eagerness": 0.6}))
    s = summary(result.events)
    blocked = result.events.filter(pl.col("kind") == "ClaimBlocked")
    assert "dependencies_not_done" in set(blocked["detail"])
    assert s["finished"] and s["writes"] > 20


def test_lead_assigned_teams_lose_a_round_to_planning_and_then_work_the_plan() -> None:
    spec = work_team(4, assignment="lead_assigned", p=0.5, seed=1)
    result = run_sync(spec)
    ev = result.events
    first = ev.filter((pl.col("round") == 1) & (pl.col("kind") == "AgentReplied"))
    lead = json.loads(first.filter(pl.col("agent") == "a0")["detail"][0])["actions"]
    assert sum(a[0] == "assign" for a in lead) == 20
    assert first.filter(pl.col("agent") != "a0")["value"].to_list() == ["idle"] * 3
    plan = chain_assignment(spec.task.work.dag, ["a1", "a2", "a3"])
    assert result.rounds == 1 + assigned_makespan(spec.task.work.dag, plan)
    assert ev.filter((pl.col("kind") == "MessageSent") & (pl.col("round") == 1))["agent"].to_list() == ["a0"] * 3
    assert ev.filter((pl.col("kind") == "TaskCompleted") & (pl.col("agent") == "a0")).is_empty()


def test_same_seed_same_bytes_and_another_seed_differs() -> None:
    spec = work_team(4, p=0.5, seed=11, work={"eagerness": 0.2, "error_rate": 0.1, "locks": False})
    a, b = run_sync(spec), run_sync(spec)
    assert events_to_jsonl(a.records) == events_to_jsonl(b.records)
    c = run_sync(spec.replace(seed=12))
    assert events_to_jsonl(c.records) != events_to_jsonl(a.records)


def llm_like(request: AgentRequest):
    """A scripted 'LLM': replies in text, parsed with the action vocabulary."""
    board = request.view["board"]
    mine = [t for t in board if t["owner"] == request.agent and t["status"] == "in_progress"]
    todo = [t for t in board if t["status"] == "pending" and not t["owner"]
            and all(d["status"] == "done" for d in board if d["id"] in t["dependencies"])]
    if request.agent == "a1" and request.round == 2:
        return RateLimitedError("429 from the scripted server")
    task = mine[0] if mine else (todo[int(request.agent[1:]) % len(todo)] if todo else None)
    if task is None:
        return AgentReply(request.agent, None, text="Nothing for me; I wait.")
    text = (f"CLAIM {task['id']}\n" if not mine else "") + "".join(f"WRITE {f}\n" for f in task["files"]) \
        + f"COMPLETE {task['id']}\nMESSAGE took {task['id']}"
    actions = parse_actions(text) if request.agent != "a2" else ()  # a2 answers in text only
    return AgentReply(request.agent, None, text=text, tokens_in=50, tokens_out=20, latency_s=0.5, actions=actions)


@aio
async def test_llm_agents_act_through_parsed_actions_and_failures_are_events() -> None:
    spec = work_team(3, p=0.5, backend="mock", seed=0)
    async with Run(spec, backends=MockBackend(llm_like)) as run:
        result = await run.run()
        state, board = run.state(), run.workload.tasks()
    ev = result.events
    assert result.reason == "all_tasks_done"
    failed = ev.filter(pl.col("kind") == "AgentFailed")
    assert failed.select("round", "agent", "fault").rows() == [(2, "a1", "rate_limited")]
    sent = ev.filter(pl.col("kind") == "MessageSent")
    assert sent.height > 0 and sent["detail"].str.starts_with("took ").all()
    assert ev.filter((pl.col("kind") == "TaskCompleted") & (pl.col("agent") == "a2")).height > 0
    assert set(board) == {f"t{i}" for i in range(1, 21)}
    assert all(t["status"] == "done" for t in board.values())
    assert set(state) == {"a0", "a1", "a2"} and all(s["answer"] is None and s["alive"] for s in state.values())
    assert sorted(t for s in state.values() for t in s["done"]) == sorted(board)


def test_each_workload_gets_its_own_simulated_agents() -> None:
    spec = team(3)
    groups = resolve_backends(spec, workload_for(spec.task.kind))
    assert type(groups[0].backend).__name__ == "SimulatedBackend"
    spec = work_team(3)
    groups = resolve_backends(spec, workload_for(spec.task.kind))
    assert type(groups[0].backend).__name__ == "SimulatedWorkers"


def test_round_budget_stops_an_unfinished_project() -> None:
    result = run_sync(work_team(1, p=0.5, max_rounds=5))
    s = summary(result.events)
    assert result.reason == "max_rounds" and not s["finished"] and s["tasks_completed"] == 5
    assert result.decision == "5/20 tasks done" and result.correct is False


def test_runs_are_byte_identical_across_processes_and_hash_seeds() -> None:
    import hashlib
    import os
    import subprocess
    import sys

    code = ("import hashlib; from llmteams_lab import run_sync; from llmteams_lab.spec import work_team; "
            "from llmteams_lab.events import events_to_jsonl; "
            "r = run_sync(work_team(5, p=0.5, seed=11, work={'eagerness': 0.3, 'error_rate': 0.2, 'locks': False, "
            "'work_jitter': 0.7})); print(hashlib.sha256(events_to_jsonl(r.records).encode()).hexdigest())")
    root = ROOT
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}, timeout=60).stdout.strip()
    here = run_sync(work_team(5, p=0.5, seed=11, work={"eagerness": 0.3, "error_rate": 0.2, "locks": False,
                                                        "work_jitter": 0.7}))
    assert out == hashlib.sha256(events_to_jsonl(here.records).encode()).hexdigest()
