"""Waking agents in an asynchronous run: when an idle agent acts next, and why.

An agent acts at time 0; after that it acts when something wakes it while it is idle —
a message arriving (under its ``wait`` policy: any message, or all or a quorum of its
peers heard from, suspects excepted), a suspicion its failure detector raised, or a
timer its workload set — and, once its reply is applied, at once if what it has not
read yet says so. One ``activate`` happening is scheduled per wake-up; its ``cause`` is
the event that woke the agent (``wake_cause``), so happened-before can be read from the
log. In bulk (``runtime.bulk``) an idle agent's pending activation can be brought
forward to an earlier copy's arrival (``wake_at``).

Heartbeats and the detector's checks are timers on the same calendar: they are here
because what they do is wake (or keep from waking) agents.

:class:`Waking` is the part of :class:`~llmteams_lab.runtime.asynchronous.Happenings`
that decides this; it reads and writes the engine's per-agent state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmteams_lab.runtime.scheduler import ACTIVATE, TIMER

__all__ = ["BUSY", "IDLE", "Waking"]

IDLE, BUSY = 0, 1  # an agent's turn state


class Waking:
    """Wake-ups of :class:`~llmteams_lab.runtime.asynchronous.Happenings` (module docstring)."""

    n: int
    once: bool
    continuous: bool
    waits: str
    quorum: int
    heartbeat: float | None
    run: Any
    calendar: Any
    bulk: Any
    transit: Any
    mailboxes: Any
    detector: Any
    state: np.ndarray
    turns: np.ndarray
    woken: np.ndarray
    wake_at: np.ndarray
    wake_cause: np.ndarray
    last_delivery: np.ndarray

    def _start(self) -> None:
        """Time 0: every agent acts, the detector arms, heartbeats begin."""
        for i in range(self.n):
            self._wake(i, 0.0, -1)
            if self.detector is not None:
                self.detector.arm(i, lambda due, r: self.calendar.schedule(due, TIMER, "detect", r))
            if self.heartbeat is not None:
                self.calendar.schedule(0.0, TIMER, "heartbeat", i)

    def _wake(self, i: int, t: float, cause: int, *, forced: bool = False) -> None:
        """Schedule idle agent ``i``'s activation at ``t``, woken by event ``cause`` (-1:
        none) — unless one is pending (in bulk: unless it is due by ``t``; an earlier one
        is brought forward), ``i`` is busy or down, or a one-shot agent already acted."""
        bulk = self.bulk is not None
        if (t >= self.wake_at[i] if bulk else self.woken[i]) or self.state[i] == BUSY or not self.run.alive[i]:
            return
        if self.once and self.turns[i] > 0 and not forced:
            return
        if bulk:
            self.wake_at[i] = t
        else:
            self.woken[i] = True
        self.wake_cause[i] = cause
        self.calendar.schedule(t, ACTIVATE, "activate", i)

    def _ready(self, i: int) -> bool:
        """Whether idle agent ``i`` acts on what its mailbox holds (its ``wait`` policy)."""
        if self.continuous:
            return True
        if not self.mailboxes.waiting(i):
            return False
        if self.waits == "any":
            return True
        peers = [p for p in self.run.network.inn[i]
                 if self.detector is None or p not in self.detector.suspects[i]]
        heard = self.mailboxes.heard_from(i, peers)
        need = len(peers) if self.waits == "all" else min(len(peers), self.quorum - 1)
        return heard >= need

    def _wake_after_reply(self, alive: list[int], t: float) -> None:
        """Agents ``alive`` are idle again at ``t``: each wakes for what it has not read."""
        if self.bulk is not None:
            for i in alive:  # woken by the earliest copy it has not read (now, if one is waiting)
                first = self.bulk.earliest(i, t)
                if self.mailboxes.waiting(i):  # copies sent one by one since a message fault was injected
                    first = (t, max(int(self.last_delivery[i]), int(self.bulk.last_delivery[i])))
                if first is not None and first[0] < self.wake_at[i]:
                    self._wake(i, first[0], first[1])
            return
        for i in alive:
            if self._ready(i):  # woken by what is waiting: the latest arrival in its mailbox, if any
                self._wake(i, t, int(self.last_delivery[i]) if self.mailboxes.waiting(i) else -1)

    def _send_bulk(self, out: Any, t: float) -> None:
        """Each sender's broadcast as one block; an idle receiver wakes at its copy's
        arrival if that is earlier than its pending activation."""
        for s in out.senders.tolist():
            sent = self.bulk.send(s, out, t, int(out.cause[s]) if out.cause is not None else -1)
            if sent is None:
                continue
            b, arrivals = sent
            idle = (self.state == IDLE) & self.run.alive & (arrivals < self.wake_at)
            if self.once:
                idle &= self.turns == 0
            for r in np.flatnonzero(idle).tolist():
                self._wake(r, float(arrivals[r]), self.bulk.wake_ref(r, b))

    # --- arrivals ----------------------------------------------------------------------
    def _arrived(self, r: int, s: int, t: float, seq: int, counts: bool) -> None:
        """A message from ``s`` was delivered to ``r`` (``counts``: it joined the mailbox)."""
        if counts:
            self.last_delivery[r] = seq
        if self.detector is not None:
            self.detector.heard(r, s, t, self.run.round, seq)
        if self.state[r] == IDLE and self._ready(r):
            self._wake(r, t, seq)

    # --- the failure detector and heartbeats -------------------------------------------------
    def _detect(self, i: int, t: float) -> None:
        run = self.run
        fresh = self.detector.check(i, t, run.round, bool(run.alive[i]))
        if run.alive[i]:
            self.detector.arm(i, lambda due, r: self.calendar.schedule(due, TIMER, "detect", r))
        if fresh and self.state[i] == IDLE and self._ready(i):
            self._wake(i, t, run.log.seq - 1)  # woken by its last suspicion

    def _beat(self, i: int, t: float) -> None:
        run = self.run
        if not run.alive[i]:
            self.calendar.schedule(t + self.heartbeat, TIMER, "heartbeat", i)
            return
        self.transit.heartbeat(i, t)
        self.calendar.schedule(t + self.heartbeat, TIMER, "heartbeat", i)
