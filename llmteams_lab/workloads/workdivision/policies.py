"""How a simulated worker picks its next task under a scheduling policy (from its view).

The rules of ``scheduling`` (see its docstring), written over the board an agent read
(``view["board"]``: rows with ``status``, ``owner``, ``dependencies`` and, under a
policy, ``rank`` — the order tasks were assigned in — and ``priority``):

* :func:`next_in_queue`  pre-/lead-assigned with a plan: the head of my queue, if ready;
* :func:`best_open`      self-claim with a priority: the k-th best ready open task for the
  k-th idle agent (so agents that read the same board never pick the same task);
* :func:`to_steal`       work stealing: the k-th best ready task waiting in another
  agent's queue for the k-th idle agent without a ready head of its own — never the
  ready head of an idle owner, who is about to take it;
* :func:`lead_plan`      a lead's assignments under a list-scheduling policy;
* :func:`backup_to_start` speculation: the k-th task running long for the k-th idle agent.

``scheduling.simulate`` applies the same rules to its own state; the tests hold the two
to the same turns.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from llmteams_lab.spec.tasks import WorkTask
from llmteams_lab.workloads.workdivision.scheduling import plan

__all__ = ["backup_to_start", "best_open", "idle_agents", "lead_plan", "next_in_queue", "ready", "to_steal"]

Board = Mapping[str, Mapping[str, Any]]


def ready(board: Board, row: Mapping[str, Any]) -> bool:
    """Whether every dependency of ``row`` is done on ``board``."""
    return all(board[d]["status"] == "done" for d in row["dependencies"])


def idle_agents(board: Board, members: Sequence[str]) -> list[str]:
    """``members`` that hold no running task (nor a backup copy of one), in team order."""
    busy = {t["owner"] for t in board.values() if t["status"] == "in_progress"}
    busy |= {t.get("backup") for t in board.values() if t["status"] == "in_progress"}
    return [m for m in members if m not in busy]


def backup_to_start(board: Board, me: str, members: Sequence[str],
                    running_long: Sequence[str]) -> Mapping[str, Any] | None:
    """The k-th task running long (not mine) for the k-th idle agent (speculation)."""
    idle = idle_agents(board, members)
    if me not in idle:
        return None
    wanted = [board[tid] for tid in running_long if board[tid]["owner"] != me]
    k = idle.index(me)
    return wanted[k] if k < len(wanted) else None


def queue_of(board: Board, agent: str) -> list[Mapping[str, Any]]:
    """``agent``'s assigned, unstarted tasks in the order they were assigned."""
    mine = [t for t in board.values() if t["status"] == "assigned" and t["owner"] == agent]
    return sorted(mine, key=lambda t: t["rank"])


def next_in_queue(board: Board, me: str) -> Mapping[str, Any] | None:
    """The head of my queue when it is ready (a plan is worked strictly in order)."""
    queue = queue_of(board, me)
    return queue[0] if queue and ready(board, queue[0]) else None


def best_open(board: Board, me: str, members: Sequence[str]) -> Mapping[str, Any] | None:
    """The k-th best (by ``priority``) ready open task, k my place among the idle."""
    idle = idle_agents(board, members)
    if me not in idle:
        return None
    open_ = sorted((t for t in board.values() if t["status"] == "pending" and t["owner"] is None and ready(board, t)),
                   key=lambda t: t["priority"])
    k = idle.index(me)
    return open_[k] if k < len(open_) else None


def to_steal(board: Board, me: str, members: Sequence[str]) -> Mapping[str, Any] | None:
    """The task I steal, if any (see the module docstring)."""
    idle = idle_agents(board, members)
    heads = {m: next(iter(queue_of(board, m)), None) for m in members}
    ready_head = {m: h is not None and ready(board, h) for m, h in heads.items()}
    thieves = [m for m in idle if not ready_head[m]]
    if me not in thieves:
        return None
    k = thieves.index(me)
    for t in sorted((t for t in board.values() if t["status"] == "assigned" and ready(board, t)),
                    key=lambda t: t["priority"]):
        owner = t["owner"]
        if owner == me or (owner in idle and heads.get(owner) is t):
            continue
        if k == 0:
            return t
        k -= 1
    return None


def lead_plan(board: Board, members: Sequence[str], policy: str,
              unit_s: Mapping[str, float] | None = None) -> list[tuple[str, str]]:
    """(task, member) for the pending unowned tasks, in the order to assign them."""
    rows = [t for t in board.values() if t["status"] == "pending" and t["owner"] is None]
    if not rows or not members:
        return []
    inside = {t["id"] for t in rows}
    tasks = [WorkTask(t["id"], dependencies=tuple(d for d in t["dependencies"] if d in inside), work=t["work"])
             for t in rows]
    units = [unit_s[m] for m in members] if unit_s else None
    made = plan(tasks, list(members), policy, units if policy == "speed_aware" else None)
    return [(tid, made.owner[tid]) for tid in made.order]
