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
* under a scheduling policy (``WorkSpec.policy``) the rules are the policy's (see
  ``scheduling`` and ``policies``): an assigned agent works its queue strictly in order,
  a self-claimer takes the k-th best ready task as the k-th idle agent, an idle agent
  under work stealing steals (``("steal", task)``), a lead assigns the policy's plan;
* under speculation (``WorkSpec.backup_after``) an agent with nothing else to do starts a
  backup copy of a task the view lists as running long (``("backup", task)``) and then
  works its copy like a task of its own;
* self-claimers tell their neighbours what they took or finished (``message``).

Timing and cost: latency ``latency_s · exp(latency_jitter · z) + read_s · messages read``
virtual seconds; ``prompt_tokens + tokens_per_message · messages read`` tokens in and
``reply_tokens`` out, priced at the agent's ``usd_per_mtok_in``/``_out`` (0 when
unpriced). Randomness: one generator per (seed, round, agent), so a seed reproduces a
run and an agent's draws do not depend on its teammates.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend
from llmteams_lab.backends.bounds import ProfileTokens, inbox_sizes, profile_tokens
from llmteams_lab.errors import SpecError
from llmteams_lab.events import on_cost_grid
from llmteams_lab.messages import AgentReply, AgentRequest
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads.workdivision.policies import (
    backup_to_start,
    best_open,
    lead_plan,
    next_in_queue,
    ready,
    to_steal,
)
from llmteams_lab.workloads.workdivision.scheduling import LIST_POLICIES

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
        tokens_in = agent.prompt_tokens + agent.tokens_per_message * reading
        return AgentReply(request.agent, None, None, _message_text(actions), tokens_in, agent.reply_tokens,
                          latency, on_cost_grid(agent.price(tokens_in, agent.reply_tokens)), actions=tuple(actions))

    def decide(self, request: AgentRequest, uniform: np.ndarray, rng: np.random.Generator) -> list[tuple[str, ...]]:
        """This turn's actions from the stale board view (see the module docstring)."""
        view = request.view
        board = {t["id"]: t for t in view.get("board", ())}
        me, mode = request.agent, view.get("mode", "self_claim")
        policy = view.get("policy")
        if mode == "lead_assigned" and request.role == "leader":
            if policy in LIST_POLICIES:
                return _assign_plan(board, list(view.get("members", ())), policy, view.get("unit_s"))
            return _assign_all(board, list(view.get("members", ())))
        held, done = _holding(board, me)
        actions: list[tuple[str, ...]] = []
        if held is None:
            verb, held = self._pick(board, me, mode, view, eager=uniform[0] < self.work.eagerness, rng=rng)
            if held is None and view.get("speculate"):
                verb, held = "backup", backup_to_start(board, me, view.get("members", ()), view["speculate"])
            if held is None:
                return []
            actions.append((verb, held["id"]))
            done = 0 if verb == "backup" else held["progress"]
        actions += [("write", f) for f in held["files"]]
        if done + 1 >= held["work"]:
            faulty = uniform[1] < self.work.error_rate
            actions.append(("complete", held["id"], "faulty") if faulty else ("complete", held["id"]))
        if mode == "self_claim":
            verb = {"claim": "claimed", "backup": "backed up"}.get(actions[0][0], "working on")
            finished = " and finished" if actions[-1][0] == "complete" else ""
            actions.append(("message", f"{me} {verb} {held['id']}{finished}"))
        return actions

    @staticmethod
    def _pick(board: dict[str, dict], me: str, mode: str, view: dict, *, eager: bool,
              rng: np.random.Generator) -> tuple[str, dict | None]:
        """The verb and the task of this turn's claim (``None``: nothing to take)."""
        policy, members = view.get("policy"), view.get("members", ())
        if mode == "self_claim":
            if policy not in (None, "random"):
                return "claim", best_open(board, me, members)
            open_ = [t for t in board.values() if t["status"] == "pending" and t["owner"] is None]
            pool = open_ if eager else [t for t in open_ if ready(board, t)]
            return "claim", (pool[int(rng.integers(len(pool)))] if pool else None)
        if policy in LIST_POLICIES:
            head = next_in_queue(board, me)
            if head is None and policy == "work_stealing":
                return "steal", to_steal(board, me, members)
            return "claim", head
        mine = [t for t in board.values() if t["status"] == "assigned" and t["owner"] == me]
        if eager and mine:
            return "claim", mine[0]
        return "claim", next((t for t in mine if ready(board, t)), None)



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


def _holding(board: dict[str, dict], me: str) -> tuple[dict | None, int]:
    """The running task I hold — my own, or my backup copy of one — and the work done on
    my copy of it (``(None, 0)``: none)."""
    for t in board.values():
        if t["status"] == "in_progress" and t["owner"] == me:
            return t, t["progress"]
    for t in board.values():
        if t["status"] == "in_progress" and t.get("backup") == me:
            return t, t["backup_progress"]
    return None, 0


def _assign_plan(board: dict[str, dict], members: list[str], policy: str,
                 unit_s: dict[str, float] | None) -> list[tuple[str, ...]]:
    """The lead's plan under a list-scheduling policy, assigned in planned order."""
    plan = lead_plan(board, members, policy, unit_s)
    if not plan:
        return []
    actions: list[tuple[str, ...]] = [("assign", tid, who) for tid, who in plan]
    return actions + [("message", f"plan ({policy}): " + ", ".join(f"{tid}->{who}" for tid, who in plan))]


def _message_text(actions: list[tuple[str, ...]]) -> str:
    return next((a[1] for a in actions if a[0] == "message"), "")
