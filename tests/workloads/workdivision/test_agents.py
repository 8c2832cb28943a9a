"""Simulated workers: decisions from a stale board view, profiles, determinism."""

from __future__ import annotations

import numpy as np

from llmteams_lab.messages import AgentRequest, Message
from llmteams_lab.spec import work_team
from llmteams_lab.workloads.workdivision.agents import SimulatedWorkers
from tests.support import aio


def row(tid, status="pending", owner=None, deps=(), work=1, progress=0, files=None):
    return {"id": tid, "title": "", "status": status, "owner": owner, "dependencies": list(deps),
            "files": [f"{tid}.py"] if files is None else files, "work": work, "progress": progress}


def request(agent, board, mode="self_claim", role="member", round=1, inbox=(), members=()):
    return AgentRequest("r", round, agent, role, None, tuple(inbox), view={"mode": mode, "board": board,
                                                                          "members": list(members)})


def test_an_agent_holding_a_task_works_on_it_and_completes_when_done() -> None:
    workers = SimulatedWorkers(work_team(2, p=0.5))
    rng = np.random.default_rng(0)
    board = [row("t1", "in_progress", "a0", work=2), row("t2")]
    assert workers.decide(request("a0", board), np.array([0.9, 0.9, 0.9]), rng)[:1] == [("write", "t1.py")]
    board[0]["progress"] = 1
    actions = workers.decide(request("a0", board), np.array([0.9, 0.9, 0.9]), rng)
    assert actions[:2] == [("write", "t1.py"), ("complete", "t1")]
    assert actions[2] == ("message", "a0 working on t1 and finished")


def test_self_claimers_pick_ready_tasks_unless_eager_and_faulty_work_is_flagged() -> None:
    workers = SimulatedWorkers(work_team(2, p=0.5, work={"eagerness": 0.5, "error_rate": 0.5}))
    rng = np.random.default_rng(1)
    board = [row("t1", "in_progress", "a1"), row("t2", deps=("t1",)), row("t3", deps=("t1",))]
    assert workers.decide(request("a0", board), np.array([0.9, 0.9, 0.9]), rng) == []  # nothing ready
    eager = workers.decide(request("a0", board), np.array([0.1, 0.1, 0.9]), rng)
    assert eager[0][0] == "claim" and eager[0][1] in ("t2", "t3")
    assert eager[2] == ("complete", eager[0][1], "faulty")


def test_assigned_agents_take_their_first_ready_task() -> None:
    workers = SimulatedWorkers(work_team(2, p=0.5, assignment="pre_assigned"))
    rng = np.random.default_rng(2)
    board = [row("t1", "assigned", "a1"), row("t2", "assigned", "a0", deps=("t1",)), row("t3", "assigned", "a0")]
    actions = workers.decide(request("a0", board, "pre_assigned"), np.array([0.9, 0.9, 0.9]), rng)
    assert actions == [("claim", "t3"), ("write", "t3.py"), ("complete", "t3")]  # no messages when pre-assigned


def test_the_lead_assigns_every_open_task_keeping_chains_together() -> None:
    workers = SimulatedWorkers(work_team(3, p=0.5, assignment="lead_assigned"))
    board = [row("t1"), row("t2", deps=("t1",)), row("t3"), row("t4"), row("t5", deps=("t3",))]
    actions = workers.decide(request("a0", board, "lead_assigned", "leader", members=("a1", "a2")),
                             np.array([0.9, 0.9, 0.9]), np.random.default_rng(3))
    plan = {a[1]: a[2] for a in actions if a[0] == "assign"}
    assert plan == {"t1": "a1", "t2": "a1", "t3": "a2", "t4": "a1", "t5": "a2"}
    assert actions[-1] == ("message", "a1: t1, t2, t4; a2: t3, t5")
    board = [row(t, "assigned", "a1") for t in ("t1", "t2")]
    assert workers.decide(request("a0", board, "lead_assigned", "leader", members=("a1",)),
                          np.array([0.9, 0.9, 0.9]), np.random.default_rng(3)) == []


@aio
async def test_replies_are_deterministic_and_cost_grows_with_the_inbox() -> None:
    spec = work_team(3, p=0.5, seed=7, latency_s=2.0, latency_jitter=0.3, prompt_tokens=100, tokens_per_message=10,
                     work={"read_s": 0.5})
    workers = SimulatedWorkers(spec)
    board = [row(f"t{i}") for i in range(1, 6)]
    quiet = await workers.respond(request("a1", board))
    again = await SimulatedWorkers(spec).respond(request("a1", board))
    assert quiet == again and quiet.actions[0][0] == "claim"
    inbox = tuple(Message(1, "a0", "a1", None, text="hi") for _ in range(4))
    busy = await workers.respond(request("a1", board, inbox=inbox))
    assert busy.tokens_in == quiet.tokens_in + 40 == 140
    assert busy.latency_s == quiet.latency_s + 2.0
    other = await workers.respond(request("a2", board))
    assert other.latency_s != quiet.latency_s
