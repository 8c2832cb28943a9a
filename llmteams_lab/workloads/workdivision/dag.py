"""Task-DAG algorithms (level 4): order, critical path, parallel fraction, the bound,
Amdahl's reference model, and the pre-assignment that keeps dependency chains on one agent.

Definitions (the paper's, arXiv 2603.12229): with W the total work (Σ task work) and C
the work on the longest dependency chain, the parallel fraction is p = (W − C)/W.

* the critical-path (work–span) bound — *the* bound: agents that each do at most one
  unit of work per round, on a task that may start only after its dependencies are done,
  need at least max(C, W/n) rounds, so no schedule's speedup over the serial W rounds
  beats min(n, W/C) = min(n, 1/(1 − p)) (:func:`critical_path_bound`, :func:`work_span_bound`);
* Amdahl's law S(n) = 1 / ((1 − p) + p/n) — a *reference model*, not a bound for DAGs:
  its time T₁/S(n) = C + (W − C)/n is that of a schedule running the chain alone and then
  spreading the rest, while a team works on free tasks *beside* the chain. Pre-assigned
  unit tasks finish in C + ⌊(W − C)/n⌋ rounds (below), so they beat Amdahl whenever n does
  not divide W − C (p = 0.75, n = 8: 20/6 = 3.33 against S = 2.91) — never the bound (4).

Pre-assignment (:func:`chain_assignment`) mirrors the paper's system assignment: walk
the tasks in dependency order; a task with dependencies goes to the agent that holds
its last listed dependency (so a chain never crosses agents); a free task goes to the
next agent round-robin. On the paper's DAGs (one chain of C unit tasks plus W − C free
ones) the chain's agent ends up with C + ⌊(W − C)/n⌋ tasks, so a pre-assigned team of
unit tasks finishes in exactly that many rounds — Amdahl's T₁/S(n) = C + (W − C)/n
only when n divides W − C (see :func:`assigned_makespan`).
"""

from __future__ import annotations

import random
from typing import Sequence

from llmteams_lab.errors import ArgumentError
from llmteams_lab.spec.tasks import WorkTask

__all__ = ["amdahl", "assigned_makespan", "chain_assignment", "critical_path", "critical_path_bound",
           "parallel_fraction", "random_dag", "topological_order", "work_span_bound"]


def topological_order(tasks: Sequence[WorkTask]) -> list[str]:
    """Task ids, dependencies first; ties follow the listed order (depth-first from each
    task in list order, as the paper's assigner walks them). Assumes a validated DAG."""
    deps = {t.id: t.dependencies for t in tasks}
    order: list[str] = []
    seen: set[str] = set()
    for root in deps:
        stack = [(root, 0)]
        while stack:
            node, k = stack.pop()
            if k == 0 and node in seen:
                continue
            seen.add(node)
            pending = deps[node]
            if k < len(pending):
                stack.append((node, k + 1))
                if pending[k] not in seen:
                    stack.append((pending[k], 0))
            else:
                order.append(node)
    return order


def critical_path(tasks: Sequence[WorkTask]) -> list[str]:
    """One longest (by work) dependency chain, first task first."""
    work = {t.id: t.work for t in tasks}
    deps = {t.id: t.dependencies for t in tasks}
    best: dict[str, tuple[int, str | None]] = {}
    for tid in topological_order(tasks):
        prev = max(deps[tid], key=lambda d: best[d][0], default=None)
        best[tid] = (work[tid] + (best[prev][0] if prev else 0), prev)
    node: str | None = max(best, key=lambda t: best[t][0]) if best else None
    chain = []
    while node is not None:
        chain.append(node)
        node = best[node][1]
    return chain[::-1]


def parallel_fraction(tasks: Sequence[WorkTask]) -> float:
    """p = (W − C)/W: the share of the work off the longest chain."""
    total = sum(t.work for t in tasks)
    work = {t.id: t.work for t in tasks}
    chain = sum(work[t] for t in critical_path(tasks))
    return (total - chain) / total if total else 0.0


def amdahl(p, n):
    """Amdahl's law S(n) = 1 / ((1 − p) + p/n) for a parallel fraction ``p`` on ``n``
    agents — a reference model, not a bound for task DAGs (see the module docstring).
    Plain arithmetic, so ``p`` and ``n`` may be numbers or polars expressions (the
    metrics use it on columns)."""
    return 1.0 / ((1.0 - p) + p / n)


def critical_path_bound(p, n):
    """min(n, W/C) = min(n, 1/(1 − p)): the most speedup over W serial rounds any
    schedule of the DAG can reach on ``n`` agents doing one unit of work per round (no
    schedule beats n-fold work or the longest chain). Numbers or polars expressions
    (duck-typed: ``clip`` on an expression)."""
    numbers = isinstance(p, (int, float)) and isinstance(n, (int, float))
    if numbers:
        return float(n) if p >= 1 else min(float(n), 1.0 / (1.0 - p))
    span = 1.0 / (1.0 - p)
    return span.clip(upper_bound=n) if not isinstance(span, float) else n.clip(upper_bound=span)


def work_span_bound(work: float, span: float, n: float) -> float:
    """min(n, work / span): ``critical_path_bound`` in terms of the DAG's total ``work``
    and the work on its longest chain (``span``) — for DAGs whose tasks differ in size."""
    return min(float(n), work / span)


def chain_assignment(tasks: Sequence[WorkTask], agents: Sequence[str]) -> dict[str, str]:
    """Task id → agent: chains stay on one agent, free tasks go round-robin."""
    if not agents:
        raise ArgumentError("agents", "must name at least one agent", list(agents))
    deps = {t.id: t.dependencies for t in tasks}
    owner: dict[str, str] = {}
    turn = 0
    for tid in topological_order(tasks):
        if deps[tid] and deps[tid][-1] in owner:
            owner[tid] = owner[deps[tid][-1]]
        else:
            owner[tid] = agents[turn % len(agents)]
            turn += 1
    return owner


def assigned_makespan(tasks: Sequence[WorkTask], owner: dict[str, str]) -> int:
    """Rounds a pre-assigned team needs when nothing fails: each round every agent puts
    one unit of work into its current task, or starts the first of its tasks (in
    dependency order) whose dependencies were done when the round began — the policy of
    the simulated workers, computed without the engine."""
    work = {t.id: t.work for t in tasks}
    deps = {t.id: t.dependencies for t in tasks}
    queue: dict[str, list[str]] = {}
    for tid in topological_order(tasks):
        queue.setdefault(owner[tid], []).append(tid)
    done: set[str] = set()
    current: dict[str, list] = {}  # agent -> [task, units left]
    rounds = 0
    while len(done) < len(work):
        rounds += 1
        finished = []
        for agent, mine in queue.items():
            if agent not in current:
                ready = next((t for t in mine if all(d in done for d in deps[t])), None)
                if ready is None:
                    continue
                mine.remove(ready)
                current[agent] = [ready, work[ready]]
            current[agent][1] -= 1
            if current[agent][1] == 0:
                finished.append(current.pop(agent)[0])
        if not finished and not current:  # pragma: no cover - a validated DAG always progresses
            raise ArgumentError("owner", "must let every task finish (an assignment that deadlocks the DAG)",
                                show_got=False)
        done.update(finished)
    return rounds


def random_dag(size: int, *, seed: int = 0, fan_in: int = 2, max_work: int = 3, window: int = 20) -> tuple[WorkTask, ...]:
    """A random DAG of ``size`` tasks for scheduling experiments (the paper's suites are a
    chain plus free tasks, where most policies tie): task i depends on up to ``fan_in``
    distinct tasks drawn from the ``window`` tasks listed before it, and takes 1 to
    ``max_work`` units of work; each task writes its own file. Seeded, listed in a
    topological order."""
    for name, value in (("size", size), ("fan_in", fan_in), ("max_work", max_work), ("window", window)):
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "fan_in" else 1):
            raise ArgumentError(name, f"must be an integer >= {0 if name == 'fan_in' else 1}", value)
    rng = random.Random(f"random_dag|{seed}")
    tasks = []
    for i in range(1, size + 1):
        earlier = list(range(max(1, i - window), i))
        deps = sorted(rng.sample(earlier, min(len(earlier), rng.randint(0, fan_in))))
        tasks.append(WorkTask(f"t{i}", f"task {i}", "", tuple(f"t{d}" for d in deps), (f"t{i}.py",),
                              rng.randint(1, max_work)))
    return tuple(tasks)
