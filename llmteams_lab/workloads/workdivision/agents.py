"""Simulated workers for work division: seeded, offline agents acting on the task board.

Each turn an agent reads the board as it was when the round began (``request.view``:
a stale view — it does not see what teammates earlier in the round did) and answers
with actions from the vocabulary in ``backends.actions``:

* holding an unfinished task: write its files (a round of work) and, when that was the
  last round of work the task needs, complete it — with probability ``error_rate`` the
  work is faulty (``("complete", task, "faulty")``) and its tests will fail (rework);
* otherwise claim one task: self-claimers pick uniformly among the pending unowned
  tasks whose dependencies are done in their view (with probability ``eagerness`` among
  all pending tasks, dependencies or not); pre-/lead-assigned agents take their own
  first task in dependency order whose dependencies are done (eagerly: their first) —
  and start working on it in the same turn;
* a lead of a lead-assigned team assigns every pending unowned task in its first turn
  — walking the board in its listed order, a task whose last dependency it already
  assigned goes to the same member, any other task to the next member round-robin (the
  system's pre-assignment in ``protocols.dag`` does the same in dependency order) — and
  otherwise waits;
* self-claimers tell their neighbours what they took or finished (``message``).

Timing and cost: latency ``latency_s · exp(latency_jitter · z) + read_s · messages read``
virtual seconds; ``prompt_tokens + tokens_per_message · messages read`` tokens in and
``reply_tokens`` out. Randomness: one generator per (seed, round, agent), so a seed
reproduces a run and an agent's draws do not depend on its teammates.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend
from llmteams_lab.backends.bounds import ProfileTokens, inbox_sizes, profile_tokens
from llmteams_lab.errors import SpecError
from llmteams_lab.messages import AgentReply, AgentRequest
from llmteams_lab.spec import TeamSpec

__all__ = ["SimulatedWorkers"]

_STREAM = 0x3A7C  # separates the workers' random stream from the other seeded streams


class SimulatedWorkers(Backend):
    """Answers for every simulated agent of a work-division ``spec`` (per-agent form)."""

    simulated = True
    virtual_time = True

    def __init__(self, spec: TeamSpec):
        work = spec.task.work
        if work is None:
            raise SpecError("task.kind", "must be 'work_division' for simulated workers", spec.task.kind)
        self.seed = spec.seed
        self.work = work
        self.agents = {a.id: (i, a) for i, a in enumerate(spec.agents)}
        self._tokens = ProfileTokens(spec.agents)

    def worst_case_round(self, round: int, agents: Sequence[int], request_of: Any) -> tuple[int, float]:
        """Exactly the tokens the profiles say (``backends.bounds.profile_tokens``); no cost."""
        n = self._tokens.prompt.size
        return profile_tokens(self._tokens, agents, inbox_sizes(request_of, agents, n)), 0.0

    async def respond(self, request: AgentRequest) -> AgentReply:
        i, agent = self.agents[request.agent]
        rng = np.random.default_rng([self.seed, request.round, i, _STREAM])
        uniform = rng.random(3)
        actions = self.decide(request, uniform, rng)
        reading = len(request.inbox)
        latency = agent.latency_s * float(np.exp(agent.latency_jitter * rng.standard_normal())) \
            + self.work.read_s * reading
        return AgentReply(request.agent, None, None, _message_text(actions),
                          agent.prompt_tokens + agent.tokens_per_message * reading, agent.reply_tokens,
                          latency, 0.0, actions=tuple(actions))

    def decide(self, request: AgentRequest, uniform: np.ndarray, rng: np.random.Generator) -> list[tuple[str, ...]]:
        """This turn's actions from the stale board view (see the module docstring)."""
        view = request.view
        board = {t["id"]: t for t in view.get("board", ())}
        me, mode = request.agent, view.get("mode", "self_claim")
        if mode == "lead_assigned" and request.role == "leader":
            return _assign_all(board, list(view.get("members", ())))
        held = next((t for t in board.values() if t["owner"] == me and t["status"] == "in_progress"), None)
        actions: list[tuple[str, ...]] = []
        if held is None:
            held = self._pick(board, me, mode, eager=uniform[0] < self.work.eagerness, rng=rng)
            if held is None:
                return []
            actions.append(("claim", held["id"]))
        actions += [("write", f) for f in held["files"]]
        if held["progress"] + 1 >= held["work"]:
            faulty = uniform[1] < self.work.error_rate
            actions.append(("complete", held["id"], "faulty") if faulty else ("complete", held["id"]))
        if mode == "self_claim":
            verb = "claimed" if actions[0][0] == "claim" else "working on"
            done = " and finished" if actions[-1][0] == "complete" else ""
            actions.append(("message", f"{me} {verb} {held['id']}{done}"))
        return actions

    @staticmethod
    def _pick(board: dict[str, dict], me: str, mode: str, *, eager: bool, rng: np.random.Generator) -> dict | None:
        def ready(t: dict) -> bool:
            return all(board[d]["status"] == "done" for d in t["dependencies"])

        if mode == "self_claim":
            open_ = [t for t in board.values() if t["status"] == "pending" and t["owner"] is None]
            pool = open_ if eager else [t for t in open_ if ready(t)]
            return pool[int(rng.integers(len(pool)))] if pool else None
        mine = [t for t in board.values() if t["status"] == "assigned" and t["owner"] == me]
        if eager and mine:
            return mine[0]
        return next((t for t in mine if ready(t)), None)



def _assign_all(board: dict[str, dict], members: list[str]) -> list[tuple[str, ...]]:
    """The lead's plan: chain-keeping round-robin over the pending unowned tasks."""
    open_ = [t for t in board.values() if t["status"] == "pending" and t["owner"] is None]
    if not open_ or not members:
        return []
    plan: dict[str, str] = {}
    turn = 0
    for t in open_:
        last = t["dependencies"][-1] if t["dependencies"] else None
        if last in plan:
            plan[t["id"]] = plan[last]
        else:
            plan[t["id"]] = members[turn % len(members)]
            turn += 1
    actions: list[tuple[str, ...]] = [("assign", tid, plan[tid]) for tid in plan]
    summary: dict[str, list[str]] = {}
    for tid, who in plan.items():
        summary.setdefault(who, []).append(tid)
    actions.append(("message", "; ".join(f"{who}: {', '.join(t)}" for who, t in summary.items())))
    return actions


def _message_text(actions: list[tuple[str, ...]]) -> str:
    return next((a[1] for a in actions if a[0] == "message"), "")
