"""Scheduling policies for work division: which agent does which task, in which order.

A work-division team is a cluster and its DAG a job; the classic list schedulers decide
who runs what. A policy is named in ``WorkSpec.policy`` and means, per assignment mode:

=================  ==================================================================
chain              (pre-/lead-assigned default) chains stay on one agent, free tasks go
                   round-robin; each agent starts the first of its tasks that is ready
critical_path      HLFET list scheduling: tasks by *bottom level* (the work on the
                   longest path from the task to the end, its own included), highest
                   first; each goes to the agent that can start it earliest
shortest_first     the same list scheduler, shortest task first (SPT)
longest_first      the same list scheduler, longest task first (LPT)
speed_aware        tasks by bottom level, each to the agent that *finishes* it earliest
                   given each agent's speed (HEFT's rule without communication costs)
work_stealing      critical_path's plan, made blind to speeds; an idle agent then takes a
                   ready task waiting in another agent's queue (asynchronous teams only)
random             (self-claim default) an agent claims a ready task at random
=================  ==================================================================

Pre- and lead-assigned teams with a list-scheduling policy get a *plan* (:func:`plan`):
every task's agent and each agent's queue; an agent works its queue strictly in order,
waiting while the head's dependencies run. Self-claiming teams with a priority policy
(critical_path, shortest_first, longest_first) have no plan: an idle agent takes the
ready open task of best priority — the k-th best when it is the k-th idle agent on the
board it read, so agents that read the same board never pick the same task (a slow
teammate listed first is left the best task: speculation and stealing are the remedies).

Speeds: an agent does one unit of work per turn and a turn takes its ``latency_s``
(asynchronous teams); in synchronous rounds every agent does one unit per round, so
speed_aware plans exactly as critical_path there.

:func:`simulate` runs a policy in that turn model without the engine — what a team of
simulated workers without jitter or faults does, turn for turn (the engine's runs are
tested against it) — fast enough to compare every policy on large DAGs
(:func:`compare_policies`). :func:`lower_bound` is the bound no schedule beats:
max(C · u_min, W / Σ 1/u_a) for total work W, critical-path work C and unit times u.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Mapping, Sequence

from llmteams_lab.errors import ArgumentError
from llmteams_lab.spec.tasks import ALL_POLICIES, WorkTask
from llmteams_lab.workloads.workdivision.dag import topological_order

__all__ = ["LIST_POLICIES", "Plan", "Simulation", "bottom_levels", "compare_policies", "lower_bound", "plan",
           "priority_ranks", "simulate"]

LIST_POLICIES = ("critical_path", "longest_first", "shortest_first", "speed_aware", "work_stealing")
_TICKS = 1_000_000  # the simulator counts time in whole microseconds, as the run clock does


@dataclass(frozen=True)
class Plan:
    """A static schedule: each task's ``owner``, planned ``start`` and ``finish`` (in units
    of ``unit_s``: rounds or seconds), ``order`` (the order tasks were scheduled in — each
    agent's queue is its subsequence) and the planned ``makespan``."""

    policy: str
    owner: dict[str, str]
    start: dict[str, float]
    finish: dict[str, float]
    order: tuple[str, ...]
    makespan: float

    def queues(self) -> dict[str, list[str]]:
        """Each agent's tasks in the order it works them."""
        out: dict[str, list[str]] = {}
        for tid in self.order:
            out.setdefault(self.owner[tid], []).append(tid)
        return out


def bottom_levels(tasks: Sequence[WorkTask]) -> dict[str, int]:
    """Each task's work plus the most work on any path from it to the end of the DAG."""
    succ: dict[str, list[str]] = {t.id: [] for t in tasks}
    for t in tasks:
        for d in t.dependencies:
            succ[d].append(t.id)
    work = {t.id: t.work for t in tasks}
    level: dict[str, int] = {}
    for tid in reversed(topological_order(tasks)):
        level[tid] = work[tid] + max((level[s] for s in succ[tid]), default=0)
    return level


def priority_ranks(tasks: Sequence[WorkTask], policy: str | None) -> dict[str, int]:
    """Task id → its rank under ``policy`` (0 goes first); ties keep the listed order."""
    _check_policy(policy)
    index = {t.id: i for i, t in enumerate(tasks)}
    if policy in (None, "chain", "random"):
        return index
    level = bottom_levels(tasks)
    work = {t.id: t.work for t in tasks}
    if policy == "shortest_first":
        key = lambda tid: (work[tid], -level[tid], index[tid])  # noqa: E731
    elif policy == "longest_first":
        key = lambda tid: (-work[tid], -level[tid], index[tid])  # noqa: E731
    else:
        key = lambda tid: (-level[tid], index[tid])  # noqa: E731
    return {tid: r for r, tid in enumerate(sorted(index, key=key))}


def plan(tasks: Sequence[WorkTask], agents: Sequence[str], policy: str,
         unit_s: Mapping[str, float] | Sequence[float] | None = None) -> Plan:
    """List scheduling of ``tasks`` on ``agents`` under ``policy`` (a list policy).

    Tasks become schedulable once all their dependencies are scheduled and are taken
    best rank first; each goes to the agent with the earliest start (speed_aware: the
    earliest finish), preferring the agent of its last-finishing dependency and then
    the lower index on ties. ``unit_s``: each agent's time per unit of work (default 1,
    i.e. rounds; work_stealing always plans blind to speeds)."""
    if policy not in LIST_POLICIES:
        raise ArgumentError("policy", f"must be one of {list(LIST_POLICIES)} for a plan", policy)
    if not agents:
        raise ArgumentError("agents", "must name at least one agent", list(agents))
    unit = _units(agents, None if policy == "work_stealing" else unit_s)
    rank = priority_ranks(tasks, policy)
    deps = {t.id: t.dependencies for t in tasks}
    work = {t.id: t.work for t in tasks}
    waiting = {t.id: len(set(t.dependencies)) for t in tasks}
    succ: dict[str, list[str]] = {t.id: [] for t in tasks}
    for t in tasks:
        for d in set(t.dependencies):
            succ[d].append(t.id)
    ready = [(rank[tid], tid) for tid, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    avail = [0.0] * len(agents)
    owner: dict[str, str] = {}
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    where: dict[str, int] = {}
    order: list[str] = []
    eft = policy == "speed_aware"
    while ready:
        _, tid = heapq.heappop(ready)
        at = max((finish[d] for d in deps[tid]), default=0.0)
        last = max(deps[tid], key=lambda d: finish[d], default=None)
        near = where[last] if last is not None else -1
        best, best_key = 0, None
        for a, free in enumerate(avail):
            s = free if free > at else at
            key = (s + work[tid] * unit[a] if eft else s, s, a != near, a)
            if best_key is None or key < best_key:
                best, best_key = a, key
        s = max(avail[best], at)
        start[tid], finish[tid] = s, s + work[tid] * unit[best]
        avail[best] = finish[tid]
        owner[tid], where[tid] = agents[best], best
        order.append(tid)
        for nxt in succ[tid]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, (rank[nxt], nxt))
    return Plan(policy, owner, start, finish, tuple(order), max(finish.values(), default=0.0))


def lower_bound(tasks: Sequence[WorkTask], unit_s: Sequence[float]) -> tuple[float, float]:
    """(critical-path bound, work bound): C · min(u) and W / Σ 1/u — no schedule of the
    DAG on agents with these unit times finishes before the larger of the two."""
    total = sum(t.work for t in tasks)
    span = max(bottom_levels(tasks).values(), default=0)
    return span * min(unit_s), total / sum(1.0 / u for u in unit_s)


@dataclass(frozen=True)
class Simulation:
    """What :func:`simulate` found: the ``makespan`` (in the units of ``unit_s``), each
    task's ``owner`` and ``finish``, how many turns the agents took (``turns``), how many
    of them did no work (``idle_turns``), claims lost to a teammate (``collisions``) and
    tasks taken from another agent's queue (``steals``)."""

    makespan: float
    owner: dict[str, str]
    finish: dict[str, float]
    turns: int
    idle_turns: int
    collisions: int
    steals: int


def simulate(tasks: Sequence[WorkTask], agents: Sequence[str], *, assignment: str = "pre_assigned",
             policy: str | None = None, unit_s: Mapping[str, float] | Sequence[float] | None = None,
             lead: str | None = None, seed: int = 0, max_turns: int = 10_000_000) -> Simulation:
    """Run ``policy`` in the simulated workers' turn model (see the module docstring).

    ``assignment`` as in ``WorkSpec``; ``lead`` names the lead of a lead-assigned team
    (default: the first agent), who assigns in its first turn and works no task;
    ``unit_s`` is each agent's turn time (default 1: rounds). ``random`` draws from its
    own seeded stream: the same distribution as the engine's workers, not their draws."""
    from llmteams_lab.workloads.workdivision.turns import TurnModel

    _check_policy(policy)
    if not agents:
        raise ArgumentError("agents", "must name at least one agent", list(agents))
    ticks = [max(1, round(u * _TICKS)) for u in _units(agents, unit_s)]
    model = TurnModel(tasks, list(agents), ticks, assignment, policy, lead, random.Random(seed))
    model.run(max_turns)
    return Simulation(model.makespan / _TICKS, dict(model.owner), {k: v / _TICKS for k, v in model.done_at.items()},
                      model.turns, model.idle, model.collisions, model.steals)


def compare_policies(tasks: Sequence[WorkTask], agents: Sequence[str] | int, *,
                     unit_s: Mapping[str, float] | Sequence[float] | None = None,
                     designs: Sequence[tuple[str, str | None]] | None = None) -> list[dict]:
    """Each (assignment, policy) design's simulated makespan beside the two bounds:
    one row per design with ``makespan``, ``critical_path_bound``, ``work_bound``,
    ``ratio`` (makespan / the larger bound, ≥ 1), ``idle_turns`` and ``steals``.
    Default designs: every pre-assigned policy and every self-claim priority."""
    ids = [f"a{i}" for i in range(agents)] if isinstance(agents, int) else list(agents)
    unit = _units(ids, unit_s)
    designs = designs or ([("pre_assigned", p) for p in ("chain",) + LIST_POLICIES]
                          + [("self_claim", p) for p in ("critical_path", "longest_first", "shortest_first")])
    cp, wb = lower_bound(tasks, unit)
    rows = []
    for assignment, policy in designs:
        sim = simulate(tasks, ids, assignment=assignment, policy=policy, unit_s=unit)
        rows.append({"assignment": assignment, "policy": policy or "default", "makespan": sim.makespan,
                     "critical_path_bound": cp, "work_bound": wb, "ratio": sim.makespan / max(cp, wb),
                     "idle_turns": sim.idle_turns, "steals": sim.steals})
    return rows


def _units(agents: Sequence[str], unit_s: Mapping[str, float] | Sequence[float] | None) -> list[float]:
    if unit_s is None:
        return [1.0] * len(agents)
    values = [unit_s[a] for a in agents] if isinstance(unit_s, Mapping) else list(unit_s)
    if len(values) != len(agents) or not all(isinstance(u, (int, float)) and u > 0 for u in values):
        raise ArgumentError("unit_s", f"must give each of the {len(agents)} agents a time per unit > 0", values)
    return [float(u) for u in values]


def _check_policy(policy: str | None) -> None:
    if policy is not None and policy not in ALL_POLICIES:
        raise ArgumentError("policy", f"must be one of {sorted(ALL_POLICIES)}", policy)
