"""The seam between the generic round engine and what the team works on.

The engine owns time, budgets, the network, backends and the event log; a workload
owns the team's *state* and what a reply means. Two workloads share one engine:
deliberation (answers to a question, ``runtime.deliberation``) and, later, work
division on a task DAG. A workload is driven in this order every round::

    acting = workload.acting(r, alive)
    batch  = workload.batch(r, acting, inbox)        # for batched backends
    req    = workload.request(r, i, inbox)           # for per-agent backends
    t_end  = workload.apply(r, t0, acting, slots)    # record replies, update state
    workload.decide(r, alive)                        # the team's decision / done
    workload.broadcast(r, slots) -> Outgoing         # what each agent tells its peers
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.messages import AgentRequest
from llmteams_lab.protocols import Decision
from llmteams_lab.runtime.backends import RoundReplySlots
from llmteams_lab.runtime.network import Inbox

__all__ = ["Outgoing", "Workload"]


@dataclass(slots=True)
class Outgoing:
    """Per-agent columns of what the round's senders broadcast along their out-arcs."""

    senders: np.ndarray
    answers: np.ndarray
    confidence: np.ndarray
    values: list
    texts: list
    tokens: np.ndarray


class Workload(Protocol):
    """What the engine needs from a workload (see the module docstring).

    ``k`` sizes the network's inbox tallies (answer options; 0 if unused);
    ``cost_used`` is the dollars its replies cost so far (for the budget check).
    """

    decision: Decision
    k: int
    cost_used: float

    def acting(self, round: int, alive: np.ndarray) -> np.ndarray: ...

    def batch(self, round: int, acting: np.ndarray, inbox: Inbox) -> RoundBatch: ...

    def request(self, round: int, i: int, inbox: Inbox) -> AgentRequest: ...

    def apply(self, round: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> float: ...

    def decide(self, round: int, alive: np.ndarray) -> Decision: ...

    def broadcast(self, round: int, acting: np.ndarray, slots: RoundReplySlots) -> Outgoing: ...

    def outcome(self) -> tuple[str | None, bool | None]: ...

    def agreement(self, alive: np.ndarray) -> float: ...

    def state(self) -> dict[str, Any]: ...
