"""Speculative execution (MapReduce's backup tasks): which running tasks want a backup.

Why: in an asynchronous team a straggler holds its task for as long as it is slow; a
second agent that starts the same task from scratch may finish first. The rule
(``WorkSpec.backup_after`` = k):

* a task's *expected* time is its work times the median time per unit of work its
  completed peers took (from the turn that began the winning copy to its completion);
  before any task completed there is no expectation, so no backup;
* a running task without a backup whose elapsed time (since the turn that claimed it)
  exceeds k times its expected time is *running long*; the board view lists those
  tasks (``view["speculate"]``), longest overrun first;
* an agent with nothing else to do starts a backup copy of one (the k-th idle agent
  takes the k-th, as with claims); the board runs the race (``board``: first copy done
  wins, the other is cancelled).

Both copies' turns are ordinary replies — their tokens and dollars are spent and
counted like any other; under speculation each reply's detail names the ``task`` it
worked on, so ``metrics.speculation`` can price the cancelled copies.
"""

from __future__ import annotations

import json
from bisect import insort
from typing import Any, Sequence

from llmteams_lab.events import on_time_grid
from llmteams_lab.workloads.workdivision.board import Outcome, TaskBoard

__all__ = ["Backups", "task_of_turn"]


class Backups:
    """Times and the running-long rule for one run (see the module docstring)."""

    def __init__(self, threshold: float, board: TaskBoard):
        self.threshold = threshold
        self.board = board
        board.backup = {}
        self.began: dict[tuple[str, str], float] = {}  # (agent, task) -> start of that copy's first turn
        self.per_unit: list[float] = []  # completed tasks' seconds per unit of work, sorted
        self.now = 0.0  # the latest reply applied: the view's time

    def note(self, agent: str, o: Outcome, t0: float, t_end: float) -> dict[str, Any] | None:
        """Keep the times an outcome tells; returns the detail of a ``BackupStarted``."""
        if o.kind in ("claimed", "backup_started"):
            self.began[(agent, o.task)] = t0
        if o.kind == "completed":
            start = self.began.get((agent, o.task), t0)
            insort(self.per_unit, (t_end - start) / self.board.work[o.task])
        if o.kind == "backup_started":
            elapsed, expected = self._times(o.task, o.peer)
            return {"elapsed_s": on_time_grid(elapsed), "expected_s": on_time_grid(expected)}
        return None

    def running_long(self) -> list[str]:
        """Running tasks without a backup that overran ``threshold`` × their expected time."""
        if not self.per_unit:
            return []
        b = self.board
        found = []
        for i, tid in enumerate(b.order):
            if b.status[tid] != "in_progress" or tid in b.backup:
                continue
            elapsed, expected = self._times(tid, b.owner[tid])
            if elapsed > self.threshold * expected:
                found.append((-elapsed / expected, i, tid))
        return [tid for _, _, tid in sorted(found)]

    def _times(self, tid: str, owner: str | None) -> tuple[float, float]:
        elapsed = self.now - self.began.get((owner, tid), self.now)
        return elapsed, self.board.work[tid] * _median(self.per_unit)

    @staticmethod
    def cancelled_detail(o: Outcome) -> str:
        """The ``TaskCancelled`` detail: which copy lost and the work it had done."""
        return json.dumps({"copy": o.reason, "units": o.units}, separators=(",", ":"))


def task_of_turn(board: TaskBoard, agent: str, actions: Sequence[tuple[str, ...]]) -> str | None:
    """The task a turn works on: the one it claims, steals, backs up or completes, else
    the task of a file it writes that it holds (or held, as a cancelled copy)."""
    for a in actions:
        if a[0] in ("claim", "steal", "backup", "complete") and len(a) > 1:
            return a[1]
    for a in actions:
        if a[0] == "write" and len(a) > 1:
            for tid in board.by_file.get(a[1], ()):
                if board.owner[tid] == agent or (board.backup or {}).get(tid) == agent \
                        or (agent, tid) in board.cancelled:
                    return tid
    return None


def _median(values: list[float]) -> float:
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2
