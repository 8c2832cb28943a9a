"""A timeout-based failure detector for asynchronous teams (``TeamSpec.detector``).

Each agent watches its in-neighbours: it suspects one it has not heard from for
``timeout_s`` (``Suspected``), and withdraws the suspicion as soon as it hears from it
again (``Unsuspected``). Hearing means any message arriving, heartbeats included. In
an asynchronous system this is the best anyone can do — a crashed peer and a slow one
look the same until the slow one speaks — so the detector makes mistakes, and they are
in the log: a false suspicion is a ``Suspected`` later followed by an ``Unsuspected``.

Timers: one pending check per observer, at the earliest moment one of its unsuspected
peers could time out; hearing from a peer only moves deadlines later, so a check that
fires early just re-arms itself. The engine schedules the checks on its calendar and
calls :meth:`Detector.check` when one fires.
"""

from __future__ import annotations

from typing import Callable, Sequence

from llmteams_lab.events import Suspected, Unsuspected
from llmteams_lab.runtime.log import EventLog

__all__ = ["Detector"]


class Detector:
    """Suspicions of every observer about its in-neighbours (see the module docstring)."""

    def __init__(self, ids: Sequence[str], inn: Sequence[Sequence[int]], timeout_s: float, log: EventLog):
        self.ids, self.timeout, self.log = ids, timeout_s, log
        self.last: list[dict[int, float]] = [dict.fromkeys(peers, 0.0) for peers in inn]
        self.suspects: list[set[int]] = [set() for _ in ids]
        self.armed: list[float | None] = [None] * len(ids)  # when each observer's pending check fires

    def heard(self, r: int, s: int, t: float, round: int, cause: int | None) -> None:
        """Observer ``r`` heard from ``s`` at ``t`` (withdrawing a suspicion if it had one)."""
        last = self.last[r]
        if s in last:
            last[s] = t
        if s in self.suspects[r]:
            self.suspects[r].discard(s)
            self.log.add(Unsuspected, round, self.ids[r], self.ids[s], t_start=t, t_end=t, cause=cause,
                         detail="heard from it again")

    def deadline(self, r: int) -> float | None:
        """When ``r``'s next unsuspected peer would time out (``None``: nobody to watch)."""
        waiting = [t for s, t in self.last[r].items() if s not in self.suspects[r]]
        return min(waiting) + self.timeout if waiting else None

    def arm(self, r: int, schedule: Callable[[float, int], None]) -> None:
        """Schedule ``r``'s next check unless one is already pending."""
        if self.armed[r] is not None:
            return
        due = self.deadline(r)
        if due is not None:
            self.armed[r] = due
            schedule(due, r)

    def check(self, r: int, now: float, round: int, alive: bool) -> list[int]:
        """``r``'s check fired at ``now``: suspect every peer silent for the timeout; the
        newly suspected peers (a down observer suspects nobody: it is not running)."""
        self.armed[r] = None
        if not alive:
            return []
        fresh = []
        for s, t in sorted(self.last[r].items()):
            if s not in self.suspects[r] and now - t >= self.timeout - 1e-9:
                self.suspects[r].add(s)
                fresh.append(s)
                self.log.add(Suspected, round, self.ids[r], self.ids[s], t_start=t, t_end=now,
                             detail=f"silent for {now - t:.6g} s (timeout {self.timeout:g} s)")
        return fresh
