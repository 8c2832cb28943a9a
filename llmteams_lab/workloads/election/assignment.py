"""Work division through an elected leader: task assignments as replicated log entries.

With ``ElectionSpec.duty = "assign"`` the leader of an election team does not propose
answers: it divides the work DAG of ``TaskSpec.work`` (the work-division DAG, sized by
``workdivision.draw_work``) among its followers. Everything the team knows about the work
is in the Raft log, so it survives leader changes the way committed decisions do:

* ``["assign", task, agent]`` entries: the leader assigns a *ready* task (every
  dependency's completion committed) to an *idle* follower (no unfinished assignment in
  the leader's log) — the agent's choice (``view["decide"]`` holds ``"assign"``, the
  view lists ``ready`` tasks and ``idle`` followers); the rules refuse any other pair;
* a follower starts a task once its assignment is *committed* (``TaskClaimed``) and works
  on it for its size in units — one unit per round in synchronous rounds, one
  ``latency_s`` per unit when agents act at their own pace (``workdivision.unit_times``,
  as the work-division workers) — one task at a time, in log order;
* when done (``TaskFinished``) it reports to the leader it follows (a ``done`` record,
  repeated every turn until it sees the completion committed: the client retry of Raft), and the leader
  appends ``["done", task, agent]`` — only for the task's latest assignee, and only once
  per task. When that entry commits, the task is done: ``TaskCompleted`` (agent: the
  worker, peer: the leader who committed it), logged once per task;
* a leader suspects a follower it has not heard from for an election timeout (the bound
  followers use to suspect their leader) and re-assigns its unfinished task to an idle
  follower (``TaskReassigned`` when that commits); a new leader gives every follower a
  timeout to be heard from before it suspects it, and assigns new work only to followers
  it has heard from in its term. A worker that sees its task
  assigned to someone else in the committed log abandons it; a late report from it is
  ignored (the done entry must name the latest assignee). A crashed worker loses the
  task it was working on and starts it again if it is still its own when it recovers;
  a leader does no work (its own unfinished assignment is re-assigned).

So a committed assignment never changes (it is a log entry) and every task is done
exactly once by a committed assignment (``tasks_done_once`` in ``metrics.coordination``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from llmteams_lab.events import on_time_grid
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads.election.raft import LEADER, WORK, Entry, Node, commit_reach
from llmteams_lab.workloads.workdivision.board import TaskBoard
from llmteams_lab.workloads.workdivision.scheduling import priority_ranks
from llmteams_lab.workloads.workdivision.workload import draw_work, unit_times

__all__ = ["Assignments", "Ledger", "Offer", "entry_value", "ledger", "pairs_text", "parse_pairs"]


def entry_value(op: str, task: str, agent: str) -> str:
    """The value of a work entry: ``["assign" | "done", task, agent]`` as compact JSON."""
    return json.dumps([op, task, agent], separators=(",", ":"), ensure_ascii=False)


def _op(value: str) -> tuple[str, str, str] | None:
    try:
        op = json.loads(value)
    except (ValueError, TypeError):
        return None
    if isinstance(op, list) and len(op) == 3 and all(isinstance(x, str) for x in op) and op[0] in ("assign", "done"):
        return op[0], op[1], op[2]
    return None


@dataclass
class Ledger:
    """What a prefix of a log says about the work: each task's latest assignee (and the
    log index of that assignment) and who completed it."""

    assignee: dict[str, str] = field(default_factory=dict)
    assigned_at: dict[str, int] = field(default_factory=dict)
    done: dict[str, str] = field(default_factory=dict)


def ledger(log: Sequence[Entry], upto: int | None = None) -> Ledger:
    """The :class:`Ledger` of ``log[:upto]`` (the whole log by default)."""
    out = Ledger()
    for index, (_, k, value) in enumerate(log[:upto], start=1):
        op = _op(value) if k == WORK else None
        if op is None:
            continue
        kind, task, agent = op
        if kind == "assign":
            out.assignee[task], out.assigned_at[task] = agent, index
        else:
            out.done.setdefault(task, agent)
    return out


def pairs_text(pairs: Sequence[tuple[str, str]]) -> str:
    """Assignments as the choice's canonical text: a JSON list of ``[task, agent]``."""
    return json.dumps([list(p) for p in pairs], separators=(",", ":"), ensure_ascii=False)


def parse_pairs(raw: Any) -> list[tuple[str, str]] | None:
    """(task, agent) pairs from what a model wrote: ``{"t3": "a2"}``, ``[["t3", "a2"]]``,
    ``[{"task": "t3", "agent": "a2"}]``, or any of these as a JSON string; ``None``: none
    of these shapes."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if isinstance(raw, dict):
        return [(str(t), str(a)) for t, a in raw.items() if a is not None]
    if not isinstance(raw, list):
        return None
    out = []
    for item in raw:
        if isinstance(item, dict) and "task" in item and "agent" in item:
            out.append((str(item["task"]), str(item["agent"])))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out.append((str(item[0]), str(item[1])))
        else:
            return None
    return out


@dataclass
class Offer:
    """What a leader's turn may assign, and the completions it records: ``ready`` tasks
    (best first), ``idle`` followers, ``reports`` ((task, agent) to append as done)."""

    ready: list[str]
    idle: list[str]
    reports: list[tuple[str, str]]


class Assignments:
    """The work side of an election team whose leader assigns (see the module docstring)."""

    def __init__(self, spec: TeamSpec):
        work = spec.task.work
        self.ids, self.n = spec.ids, len(spec.agents)
        self.timeout = spec.task.election.election_timeout_s
        self.size = draw_work(spec)
        self.dag = [t.replace(work=self.size[t.id]) for t in work.dag]
        self.deps = {t.id: t.dependencies for t in self.dag}
        rank = priority_ranks(self.dag, work.policy)
        self.order = sorted(self.size, key=lambda t: rank[t])  # a leader's preference among ready tasks
        self.board = TaskBoard(self.dag, self.size)  # renders a ledger as the work-division board rows
        self.rounds = spec.execution == "synchronous"
        self.unit_s = unit_times(spec)
        self.working: list[tuple[str, float] | None] = [None] * self.n  # (task, when it is done)
        self.finished: list[list[str]] = [[] for _ in range(self.n)]  # done, completion not yet committed
        self.heard: dict[int, tuple[int, float, dict[int, float]]] = {}  # leader -> (term, since, j -> last heard)
        self.reports: dict[int, list[tuple[int, str]]] = {}  # leader -> (sender, task) reported this turn
        self.offers: dict[int, Offer] = {}
        self.completed: dict[str, str] = {}  # task -> worker: completions some leader committed

    # --- a leader's turn ----------------------------------------------------------------
    def hear(self, i: int, node: Node, records: list[tuple[int, dict[str, Any]]], now: float, leads: bool) -> None:
        """Leader ``i`` (``leads``: it leads, or wins this turn) notes who it heard from
        and the completions reported to it."""
        if not leads:
            self.heard.pop(i, None)
            return
        term, since, heard = self.heard.get(i, (-1, now, {}))
        if term != node.term:  # a new leader: nobody heard yet, every follower has a timeout to be
            since, heard = now, {}
            self.heard[i] = (node.term, since, heard)
        reports = []
        for sender, rec in records:
            heard[sender] = now
            if rec.get("type") == "done" and isinstance(rec.get("tasks"), list):
                reports += [(sender, t) for t in rec["tasks"] if isinstance(t, str)]
        self.reports[i] = reports + [(i, t) for t in self.finished[i]]

    def offer(self, i: int, node: Node, now: float) -> Offer:
        """What leader ``i`` may assign this turn (its acks in hand), and the completions it records."""
        full, reach = ledger(node.log), commit_reach(node, i, self.n)
        committed = ledger(node.log, reach)
        reports = []
        for sender, task in self.reports.pop(i, []):
            ok = full.assignee.get(task) == self.ids[sender] and task not in full.done and \
                full.assigned_at[task] <= reach and (task, self.ids[sender]) not in reports
            if ok:
                reports.append((task, self.ids[sender]))
        finished = set(full.done) | {t for t, _ in reports}
        _, since, heard = self.heard.get(i, (node.term, now, {}))
        away = {self.ids[j] for j in range(self.n) if j == i or now - heard.get(j, since) > self.timeout}
        busy = {a for t, a in full.assignee.items() if t not in finished}
        idle = [self.ids[j] for j in sorted(heard) if self.ids[j] not in away and self.ids[j] not in busy]
        ready = [t for t in self.order if t not in finished and (full.assignee.get(t) is None or
                                                                full.assignee[t] in away)
                 and all(d in committed.done for d in self.deps[t])]
        self.offers[i] = Offer(ready, idle, reports)
        return self.offers[i]

    def view(self, node: Node, offer: Offer | None) -> dict[str, Any]:
        """The work part of a node's state: the board its log describes (work-division rows)."""
        mine = ledger(node.log, node.commit)
        status = {t: "done" if t in mine.done else "assigned" if t in mine.assignee else "pending" for t in self.size}
        owner = {t: mine.done.get(t, mine.assignee.get(t)) for t in self.size}
        self.board.restore(status, owner)
        rows = [{k: row[k] for k in ("id", "title", "status", "owner", "dependencies", "work")}
                for row in self.board.snapshot()]
        out: dict[str, Any] = {"tasks": rows}
        if offer is not None:
            out["ready"], out["idle"] = list(offer.ready), list(offer.idle)
        return out

    def entries(self, i: int, choice: Any) -> tuple[list[tuple[int, str]], list[tuple[str, str]]]:
        """Leader ``i``'s work entries this turn — its completions, then the assignments
        its choice makes that the rules allow — and the refusals ((choice, reason))."""
        offer = self.offers.pop(i, None)
        if offer is None:
            return [], ([("assign", "only the leader assigns")] if choice is not None else [])
        out = [(WORK, entry_value("done", t, a)) for t, a in offer.reports]
        refused: list[tuple[str, str]] = []
        pairs = parse_pairs(choice) if choice is not None else []
        if pairs is None:
            return out, [("assign", f"{str(choice)[:60]!r} is not a list of [task, agent] pairs")]
        ready, idle = list(offer.ready), list(offer.idle)
        for task, agent in pairs:
            if task not in ready:
                refused.append(("assign", f"task {task[:40]!r} is not ready and unassigned"))
            elif agent not in idle:
                refused.append(("assign", f"{agent[:40]!r} is not an idle follower"))
            else:
                ready.remove(task)
                idle.remove(agent)
                out.append((WORK, entry_value("assign", task, agent)))
        return out, refused

    # --- a follower's turn ----------------------------------------------------------------
    def work(self, i: int, node: Node, r: int, now: float, t_end: float) -> tuple[list[tuple[str, str, dict]],
                                                                                   dict[str, Any] | None]:
        """Follower ``i``'s mechanical work this turn: finish, abandon or start a task.
        Returns what happened ((event kind, task, detail)) and the report to send."""
        happened: list[tuple[str, str, dict]] = []
        me = self.ids[i]
        if node.role == LEADER and self.working[i] is not None:  # a leader coordinates: its task goes back
            happened.append(("TaskAbandoned", self.working[i][0], {"to": None}))
            self.working[i] = None
        mine = ledger(node.log, node.commit)
        self.finished[i] = [t for t in self.finished[i] if t not in mine.done]
        current = self.working[i]
        if current is not None and (mine.assignee.get(current[0]) != me or current[0] in mine.done):
            happened.append(("TaskAbandoned", current[0], {"to": mine.assignee.get(current[0])}))
            self.working[i] = current = None
        if current is not None and self._due(current[1], r, now):
            self.finished[i].append(current[0])
            happened.append(("TaskFinished", current[0], {"to": self._name(node.leader)}))
            self.working[i] = current = None
        if current is None and node.role != LEADER:
            todo = sorted((at, t) for t, at in mine.assigned_at.items()
                          if mine.assignee[t] == me and t not in mine.done and t not in self.finished[i])
            if todo:
                task = todo[0][1]
                due = r + self.size[task] if self.rounds else on_time_grid(t_end + self.size[task] * self.unit_s[i])
                self.working[i] = (task, float(due))
                happened.append(("TaskClaimed", task, {"index": todo[0][0], "work": self.size[task]}))
        report = None
        if self.finished[i] and node.leader is not None and node.leader != i:
            report = {"type": "done", "term": node.term, "tasks": list(self.finished[i]), "to": [node.leader]}
        return happened, report

    def _name(self, i: int | None) -> str | None:
        return self.ids[i] if i is not None else None

    def _due(self, due: float, r: int, now: float) -> bool:
        return r >= due if self.rounds else now >= due

    def wake(self, i: int) -> float | None:
        """When follower ``i``'s task is done (asynchronous runs), if it works on one."""
        current = self.working[i]
        return None if current is None or self.rounds else current[1]

    def down(self, alive: np.ndarray) -> None:
        """Agents seen down lose the task they were working on (not what they finished)."""
        for i in np.flatnonzero(~alive).tolist():
            self.working[i] = None

    # --- the team's progress --------------------------------------------------------------
    def commit(self, value: str) -> tuple[str, str, str] | None:
        """A committed work entry: ``(op, task, agent)`` the first time a completion of
        the task commits (``op`` "done") or for every assignment; ``None`` otherwise."""
        op = _op(value)
        if op is None or (op[0] == "done" and op[1] in self.completed):
            return None
        if op[0] == "done":
            self.completed[op[1]] = op[2]
        return op

    @property
    def all_done(self) -> bool:
        return len(self.completed) == len(self.size)

    def task_of(self, i: int) -> str | None:
        current = self.working[i]
        return current[0] if current is not None else None
