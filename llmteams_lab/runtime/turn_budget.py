"""The budget as an asynchronous team's turns see it.

A synchronous round is checked against the budget before it starts, on the inboxes the
round will read. An asynchronous team has no rounds to check: each turn is, when its
agents wake, on the mailboxes they are about to read (not the rounds' network, which an
asynchronous run leaves empty). In real time several turns are in flight at once, so a
turn's worst case is *held* from the moment its calls start until its replies are
recorded — tokens are counted when a call returns, dollars when its reply is — and a
turn is refused unless it fits beside every turn still held.

A refused turn does not end the run at once: no agent starts another turn, the turns in
progress finish (their calls are paid for and their replies recorded), and then the run
ends for the budget (``RunEnded`` last, after the slice's ``RoundEnded``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.backends.base import RoundPreview
from llmteams_lab.rounds import Inbox

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.engine import Run

__all__ = ["TurnBudget"]


class TurnBudget:
    """Checks, holds and stops asynchronous turns against the run's budgets."""

    __slots__ = ("held", "last_time", "reserved", "run", "stopping")

    def __init__(self, run: "Run"):
        self.run = run
        self.reserved: list[Any] = [0, 0.0]  # tokens and dollars held for turns in flight
        self.held: dict[int, tuple[int, float]] = {}  # per turn in flight (id of its reply slots)
        self.stopping: str | None = None  # why no turn starts any more
        self.last_time = 0.0  # when the last happening was handled (the end of a drained run)

    def refusal(self, idx: np.ndarray, inbox: Inbox, turns: np.ndarray, t: float) -> RoundPreview | None:
        """The turn of agents ``idx`` at ``t`` reading ``inbox``: its preview if the budget
        affords it beside the turns held, else ``None`` (and the run is stopping)."""
        work = self.run.workload
        preview = RoundPreview(lambda i: work.request(int(turns[i]) + 1, i, inbox), inbox.size)
        reason = self.run.budget_stop(idx, preview, in_flight=(self.reserved[0], self.reserved[1]))
        if reason is None:
            return preview
        if self.stopping is None:
            self.stopping, self.last_time = reason, t
        return None

    def hold(self, idx: np.ndarray, preview: RoundPreview, slots: Any) -> None:
        """A real-time turn's calls start: hold its worst case until :meth:`release`."""
        b = self.run.spec.budgets
        if b.max_tokens is None and b.max_cost_usd is None:
            return
        tokens, cost, _ = self.run.worst_case_round(idx, preview)
        self.reserved[0] += tokens
        self.reserved[1] += cost
        self.held[id(slots)] = (tokens, cost)

    def release(self, slots: Any) -> None:
        """The turn's replies are being recorded: its usage is counted, its hold ends."""
        held = self.held.pop(id(slots), None)
        if held is not None:
            self.reserved[0] -= held[0]
            self.reserved[1] -= held[1]

    def drained(self, busy: np.ndarray, in_flight: Any) -> bool:
        """Stopping, and no turn is in progress any more (``busy``: per agent)."""
        return self.stopping is not None and not in_flight and not busy.any()
