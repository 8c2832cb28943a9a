"""An elected leader dividing work (``ElectionSpec.duty = "assign"``): both execution
models, a leader crash mid-project, a silent worker, assignments the rules refuse, and
the work-division metrics reading such runs."""

from __future__ import annotations

import asyncio
import json

import polars as pl
import pytest

from llmteams_lab import Run
from llmteams_lab.backends import MockBackend
from llmteams_lab.messages import AgentReply
from llmteams_lab.metrics import check_run, events_frame, work_bounds, work_summary
from llmteams_lab.spec import election_team
from llmteams_lab.workloads.workdivision.dag import critical_path
from llmteams_lab.workloads.workdivision.workload import draw_work
from tests.support import of, run_all

WORK = {"parallel_fraction": 0.5, "size": 6}


def checks(events) -> dict[str, bool]:
    return dict(check_run(events_frame(events)).select("check", "ok").rows())


def committed(events) -> dict[int, str]:
    """Log index -> value, over every leader's commits (the same index, the same value)."""
    out: dict[int, str] = {}
    for e in of(events, "EntryCommitted"):
        index = json.loads(e.detail)["index"]
        assert out.setdefault(index, e.value) == e.value
    return out


@pytest.mark.parametrize("execution", ["asynchronous", "synchronous"])
def test_the_leader_assigns_every_task_and_each_is_completed_once(execution: str) -> None:
    spec = election_team(5, seed=3, duty="assign", work=WORK, execution=execution)
    run, events = run_all(spec)
    assert run.end_reason == "all_tasks_done"
    dag = [t.id for t in spec.task.work.dag]
    assert sorted(e.value for e in of(events, "TaskCompleted")) == sorted(dag)
    leader = of(events, "LeaderElected")[-1].agent
    assert all(e.agent != leader for e in of(events, "TaskClaimed"))  # the leader coordinates, followers work
    assert all(checks(events).values()), checks(events)
    assert "tasks_done_once" in checks(events)
    detail = dict(check_run(events_frame(events)).select("check", "detail").rows())["committed_unchanged"]
    assert detail.startswith("0 decision(s) and ") and "other log entries committed" in detail  # work, not questions
    assert run.workload.outcome() == (f"{len(dag)}/{len(dag)} tasks done", True)
    assert all("task" in s for s in run.state().values())
    ops = [json.loads(v)[0] for v in committed(events).values() if v.startswith("[")]
    assert ops.count("done") == len(dag) and ops.count("assign") >= len(dag)


def test_a_task_starts_only_after_its_dependencies_completions_committed() -> None:
    spec = election_team(5, seed=1, duty="assign", work={"parallel_fraction": 0.0, "size": 4})  # one chain
    _, events = run_all(spec)
    seq = {e.value: e.seq for e in of(events, "TaskCompleted")}
    for task in spec.task.work.dag:
        started = of(events, "TaskClaimed", value=task.id)[0].seq
        assert all(seq[d] < started for d in task.dependencies)


async def _crash_the_leader_mid_project(seed: int):
    spec = election_team(5, seed=seed, duty="assign", work={"parallel_fraction": 0.75, "size": 10}, max_rounds=300)
    async with Run(spec.replace(faults=[{"kind": "drop", "probability": 0.1}])) as run:
        first = None
        while not run.done:
            await run.step()
            if first is None and len([e for e in run.events if e.kind == "TaskCompleted"]) >= 3:
                first = [e for e in run.events if e.kind == "LeaderElected"][-1].agent
                before = committed(run.events)
                run.inject({"kind": "crash", "agent": first})
        return run, list(run.events), first, before


@pytest.mark.parametrize("seed", [0, 5])
def test_after_a_leader_crash_the_new_leader_continues_from_the_committed_log(seed: int) -> None:
    run, events, first, before = asyncio.run(_crash_the_leader_mid_project(seed))
    assert run.end_reason == "all_tasks_done"
    later = [e for e in of(events, "LeaderElected") if e.agent != first]
    assert later
    log = json.loads(later[0].detail)["log"]
    assert [entry[2] for entry in log[: len(before)]] == [before[k] for k in sorted(before)]  # leader completeness
    after = committed(events)
    assert all(after[k] == v for k, v in before.items())  # committed assignments never change
    completed = [e.value for e in of(events, "TaskCompleted")]
    assert len(completed) == len(set(completed)) == 10
    assert all(e.peer != first for e in of(events, "TaskCompleted") if e.seq > later[0].seq)
    assert all(checks(events).values()), checks(events)


async def _silence_a_worker(seed: int):
    tasks = [{"id": f"t{k}", "work": 12 if k == 1 else 1} for k in range(1, 7)]  # t1 runs long
    spec = election_team(5, seed=seed, duty="assign", work={"tasks": tasks}, max_rounds=300)
    async with Run(spec) as run:
        victim = None
        while not run.done:
            await run.step()
            started = [e for e in run.events if e.kind == "TaskClaimed" and e.value == "t1"]
            if victim is None and started:
                victim = started[0].agent
                run.inject({"kind": "crash", "agent": victim})
        return run, list(run.events), victim


def test_the_task_of_a_worker_gone_silent_is_reassigned_and_done_once() -> None:
    run, events, victim = asyncio.run(_silence_a_worker(2))
    assert run.end_reason == "all_tasks_done"
    moved = of(events, "TaskReassigned", value="t1")
    assert moved and json.loads(moved[0].detail) == {"from": victim} and moved[0].peer != victim
    done = of(events, "TaskCompleted", value="t1")
    assert len(done) == 1 and done[0].agent == moved[-1].peer
    assert all(checks(events).values()), checks(events)


def _rule_breaker(request):
    """Textbook votes; the leader assigns a task that is not ready and an agent that does
    not exist before one good pair (and every fifth turn writes something unreadable);
    followers who know a leader try to assign too."""
    view, actions = request.view, []
    decide = view.get("decide", ())
    if "vote" in decide:
        actions.append(("vote", view["candidates"][0]))
    if "stand" in decide:
        actions.append(("stand",))
    if "assign" in decide and request.round % 5 == 0:
        actions.append(("assign", "everyone on t1"))
    elif "assign" in decide:
        pairs = [["nope", view["idle"][0]], [view["ready"][0], "a9"], [view["ready"][0], view["idle"][0]]]
        actions.append(("assign", json.dumps(pairs)))
    elif request.role == "follower" and view.get("leader") is not None:
        actions.append(("assign", '[["t1", "a3"]]'))
    return AgentReply(request.agent, None, None, "", 10, 5, 0.5, actions=tuple(actions))


def test_assignments_the_rules_forbid_are_refused_and_every_task_is_still_done_once() -> None:
    spec = election_team(4, seed=5, duty="assign", work=WORK, max_rounds=300)
    run, events = run_all(spec, MockBackend(_rule_breaker))
    assert run.end_reason == "all_tasks_done"
    reasons = {e.detail for e in of(events, "ActionRefused") if e.value == "assign"}
    for part in ("'nope' is not ready and unassigned", "'a9' is not an idle follower", "only the leader assigns",
                 "'everyone on t1' is not a list of [task, agent] pairs"):
        assert any(part in r for r in reasons), (part, reasons)
    assert all(v for k, v in checks(events).items() if k != "leader_within_timeouts"), checks(events)
    completed = [e.value for e in of(events, "TaskCompleted")]
    assert sorted(completed) == sorted(t.id for t in spec.task.work.dag)


def test_work_division_metrics_read_a_run_of_an_assigning_leader() -> None:
    spec = election_team(5, seed=4, duty="assign", work={"parallel_fraction": 0.75, "size": 8, "work_jitter": 0.5},
                         execution="synchronous")
    run, events = run_all(spec)
    frame = events_frame(events)
    summary = work_summary(frame).row(0, named=True)
    assert summary["finished"] and summary["tasks_completed"] == 8 and summary["claims"] >= 8
    assert summary["makespan_rounds"] == run.round and summary["makespan_s"] > 0
    drawn = draw_work(spec)
    sized = [t.replace(work=drawn[t.id]) for t in spec.task.work.dag]
    bounds = work_bounds(frame).row(0, named=True)
    assert (bounds["work"], bounds["span"]) == (sum(drawn.values()), sum(drawn[t] for t in critical_path(sized)))
    # one unit of work per worker per round, and a task waits for its dependencies' commits: within the bound
    assert bounds["work_speedup"] <= bounds["work_span_bound"]
    assert bounds["makespan_rounds"] >= bounds["min_rounds"]
    claimed = frame.filter(pl.col("kind") == "TaskClaimed")
    assert set(claimed["value"].to_list()) == set(drawn)


async def _crash_the_leader_while_everyone_works(seed: int):
    tasks = [{"id": f"t{k}", "work": 40} for k in range(1, 7)]  # long tasks: the next leader is mid-task
    async with Run(election_team(5, seed=seed, duty="assign", work={"tasks": tasks}, max_rounds=400)) as run:
        crashed = False
        while not run.done:
            await run.step()
            if not crashed and len([e for e in run.events if e.kind == "TaskClaimed"]) >= 4:
                run.inject({"kind": "crash", "agent": [e for e in run.events if e.kind == "LeaderElected"][-1].agent})
                crashed = True
        return run, list(run.events)


def test_a_worker_elected_leader_drops_its_task_and_it_is_reassigned() -> None:
    from llmteams_lab.plots.work import activity_cells

    run, events = asyncio.run(_crash_the_leader_while_everyone_works(1))
    assert run.end_reason == "all_tasks_done"
    new = of(events, "LeaderElected")[-1]
    dropped = of(events, "TaskAbandoned", agent=new.agent)
    assert dropped and dropped[0].peer is None and dropped[0].seq > new.seq  # a leader does no work
    task = dropped[0].value
    moved = of(events, "TaskReassigned", value=task)
    assert moved and json.loads(moved[0].detail) == {"from": new.agent}
    assert [e.agent for e in of(events, "TaskCompleted", value=task)] == [moved[-1].peer]
    cells = activity_cells(events_frame(events))
    assert any(a == new.agent and what == "failed" and t == task for _, a, what, t in cells)
    assert all(checks(events).values()), checks(events)
