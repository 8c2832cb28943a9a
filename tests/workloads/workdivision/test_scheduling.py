"""Scheduling policies: makespans computed by hand, the engine turn for turn against the
simulator, the bounds on generated DAGs and the paper's task files, and bad input."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import SpecError, run_sync
from llmteams_lab.metrics import work_summary
from llmteams_lab.spec import WorkTask, work_team
from llmteams_lab.spec.tasks import POLICIES, load_task_file
from llmteams_lab.workloads.workdivision.dag import random_dag
from llmteams_lab.workloads.workdivision.scheduling import (
    bottom_levels,
    compare_policies,
    lower_bound,
    plan,
    simulate,
)
from tests.support import PAPER_DATA

# DAG A, by hand: a(3) -> c(2); b(1) -> d(1); e(2). Bottom levels a 5, b 2, c 2, d 1, e 2;
# W = 9, C = 5 (a then c).
DAG_A = (WorkTask("a", work=3), WorkTask("b"), WorkTask("c", dependencies=("a",), work=2),
         WorkTask("d", dependencies=("b",)), WorkTask("e", work=2))
XY = ["x", "y"]


def test_bottom_levels_by_hand() -> None:
    assert bottom_levels(DAG_A) == {"a": 5, "b": 2, "c": 2, "d": 1, "e": 2}


# (policy, unit times, makespan, owners) — each worked out in the comments
PLANS = [
    # a->x[0,3]; b->y[0,1]; c: x and y both start at 3, a's agent x [3,5]; e->y[1,3]; d->y[3,4]
    ("critical_path", None, 5.0, {"a": "x", "b": "y", "c": "x", "d": "y", "e": "y"}),
    # b->x[0,1]; d: both start at 1, b's agent x [1,2]; e->y[0,2]; a: both free at 2 -> x [2,5]; c->x[5,7]
    ("shortest_first", None, 7.0, {"a": "x", "b": "x", "c": "x", "d": "x", "e": "y"}),
    # a->x[0,3]; c->x[3,5] (tie at 3, a's agent); e->y[0,2]; b->y[2,3]; d->y[3,4]
    ("longest_first", None, 5.0, {"a": "x", "b": "y", "c": "x", "d": "y", "e": "y"}),
    # y takes 3 s a unit. a: x ends 3, y 9 -> x[0,3]; b: x ends 4, y 3 -> y[0,3]; c: x ends 5 -> x[3,5];
    # e: x ends 7, y 9 -> x[5,7]; d: x ends 8, y 6 -> y[3,6]
    ("speed_aware", [1.0, 3.0], 7.0, {"a": "x", "b": "y", "c": "x", "d": "y", "e": "x"}),
    # earliest *start* with the same speeds: a->x[0,3]; b->y[0,3]; c->x[3,5]; e->y[3,9]; d->x[5,6]
    ("critical_path", [1.0, 3.0], 9.0, {"a": "x", "b": "y", "c": "x", "d": "x", "e": "y"}),
]


@pytest.mark.parametrize(("policy", "unit", "makespan", "owners"), PLANS)
def test_list_scheduling_known_answers(policy: str, unit, makespan: float, owners: dict) -> None:
    made = plan(DAG_A, XY, policy, unit)
    assert made.makespan == makespan
    assert made.owner == owners


def test_the_bound_of_dag_a() -> None:
    assert lower_bound(DAG_A, [1.0, 1.0]) == (5.0, 4.5)
    assert lower_bound(DAG_A, [1.0, 3.0]) == (5.0, 6.75)  # W / (1 + 1/3)


# the turn model: self-claimers, by hand (unit turns)
# critical_path: t0 x->a, y->b; t1 y (b done) -> e; t3 a and e done: x->c, y->d; c done at 5
# shortest_first: t0 x->b, y->e; t1 x->d; t2 x->a (y idle: nothing ready); a done 5; x->c, done 7
@pytest.mark.parametrize(("policy", "makespan"), [("critical_path", 5.0), ("shortest_first", 7.0),
                                                  ("longest_first", 5.0)])
def test_self_claim_priorities_known_answers(policy: str, makespan: float) -> None:
    got = simulate(DAG_A, XY, assignment="self_claim", policy=policy)
    assert got.makespan == makespan and got.collisions == 0


FREE4 = tuple(WorkTask(f"t{i}", files=(f"t{i}.py",)) for i in range(1, 5))


def test_work_stealing_known_answer() -> None:
    """Fast a0 (1 s a turn), slow a1 (4 s). The blind plan gives each two tasks: t1, t3 to
    a0 and t2, t4 to a1. Without stealing a1 finishes t4 at 8 s; with it a0, idle at 2 s,
    steals t4 from busy a1's queue and finishes it at 3 s — the run ends with t2 at 4 s."""
    slow = [1.0, 4.0]
    assert simulate(FREE4, ["a0", "a1"], policy="critical_path", unit_s=slow).makespan == 8.0
    stolen = simulate(FREE4, ["a0", "a1"], policy="work_stealing", unit_s=slow)
    assert stolen.makespan == 4.0 and stolen.steals == 1 and stolen.owner["t4"] == "a0"
    spec = work_team(2, tasks=FREE4, assignment="pre_assigned", policy="work_stealing", execution="asynchronous",
                     latency_jitter=0.0)
    spec = spec.replace(agents=[spec.agents[0], spec.agents[1].replace(latency_s=4.0)])
    events = run_sync(spec).events
    assert work_summary(events)["makespan_s"].item() == 4.0
    steals = events.filter(pl.col("kind") == "TaskStolen")
    assert steals.select("agent", "peer", "value").rows() == [("a0", "a1", "t4")]


# every deterministic design (a self-claimer's random pick draws from the engine's own stream)
DESIGNS = [(mode, policy) for mode, policies in POLICIES.items() for policy in (None, *policies)
           if policy != "random" and (mode, policy) != ("self_claim", None)]


@pytest.mark.parametrize("execution", ["synchronous", "asynchronous"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_engine_runs_every_policy_turn_for_turn_as_simulated(execution: str, seed: int) -> None:
    dag = random_dag(12, seed=seed, fan_in=2, max_work=3, window=5)
    latency = [1.0, 2.0, 0.5, 3.0]
    for mode, policy in DESIGNS:
        if policy == "work_stealing" and execution == "synchronous":
            continue
        spec = work_team(4, tasks=dag, assignment=mode, policy=policy, latency_jitter=0.0, execution=execution,
                         max_rounds=300)
        spec = spec.replace(agents=[a.replace(latency_s=u) for a, u in zip(spec.agents, latency)])
        row = work_summary(run_sync(spec).events).row(0, named=True)
        sim = simulate(dag, spec.ids, assignment=mode, policy=policy,
                       unit_s=latency if execution == "asynchronous" else None)
        got = row["makespan_s"] if execution == "asynchronous" else row["makespan_rounds"]
        assert row["finished"] and got == sim.makespan, (mode, policy)
        assert row["blocked_claims"] == sim.collisions, (mode, policy)


def test_policies_never_beat_the_bound_on_random_dags() -> None:
    for seed in range(5):
        dag = random_dag(60, seed=seed, fan_in=3, max_work=4, window=15)
        for unit in ([1.0] * 6, [0.5, 1, 1, 2, 2, 4]):
            for row in compare_policies(dag, 6, unit_s=unit):
                assert row["ratio"] >= 1.0, row


def paper_task_files() -> list:
    return sorted((PAPER_DATA / "tasks").glob("*/p*.json"))


@pytest.mark.skipif(not (PAPER_DATA / "tasks").is_dir(), reason="the paper's task files are not beside the project")
def test_policies_on_the_papers_task_files() -> None:
    files = paper_task_files()
    assert len(files) == 9
    for path in files:
        tasks, _ = load_task_file(path)
        for n in (2, 4, 8):
            rows = {(r["assignment"], r["policy"]): r for r in compare_policies(tasks, n)}
            for row in rows.values():
                assert row["makespan"] >= max(row["critical_path_bound"], row["work_bound"]), (path.name, row)
            # HLFET on a chain plus free tasks puts the chain first: never worse than chains round-robin
            assert rows[("pre_assigned", "critical_path")]["makespan"] <= rows[("pre_assigned", "chain")]["makespan"]


@pytest.mark.parametrize(("build", "message"), [
    (lambda: work_team(3, assignment="self_claim", policy="speed_aware"),
     "'task.work.policy' must be one of ['critical_path', 'longest_first', 'random', 'shortest_first'] for "
     "assignment 'self_claim' (got 'speed_aware')"),
    (lambda: work_team(3, assignment="lead_assigned", policy="work_stealing"),
     "'task.work.policy' must be one of ['chain', 'critical_path', 'longest_first', 'shortest_first', 'speed_aware'] "
     "for assignment 'lead_assigned' (got 'work_stealing')"),
    (lambda: work_team(3, assignment="pre_assigned", policy="random"),
     "'task.work.policy' must be one of ['chain', 'critical_path', 'longest_first', 'shortest_first', 'speed_aware', "
     "'work_stealing'] for assignment 'pre_assigned' (got 'random')"),
    (lambda: work_team(3, policy="fastest"),
     "'task.work.policy' must be one of ['chain', 'critical_path', 'longest_first', 'random', 'shortest_first', "
     "'speed_aware', 'work_stealing'] (got 'fastest')"),
    (lambda: work_team(3, assignment="pre_assigned", policy="work_stealing"),
     "'task.work.policy' 'work_stealing' needs execution 'asynchronous' (or 'partially_synchronous'): in "
     "synchronous rounds no agent is ever idle while another works (got 'work_stealing')"),
    (lambda: work_team(3, work={"backup_after": 0.5}, execution="asynchronous"),
     "'task.work.backup_after' must be a number >= 1 (a multiple of a task's expected time) (got 0.5)"),
    (lambda: work_team(3, work={"backup_after": 2.0}),
     "'task.work.backup_after' needs execution 'asynchronous' (or 'partially_synchronous'): in synchronous rounds "
     "a slow agent slows every round, not its own task (got 2.0)"),
])
def test_bad_scheduling_input_names_the_field(build, message: str) -> None:
    with pytest.raises(SpecError) as err:
        build()
    assert str(err.value) == message
