"""The one small protocol every backend implements, and the batched round form.

Per-agent form (the general path, used by LLM, replay and mock backends)::

    async def respond(request: AgentRequest) -> AgentReply
    async def aclose() -> None

Batched form (optional, for backends that answer a whole round at once — the
simulated one, vectorised with numpy): ``respond_round(batch) -> RoundReplies``.
A backend that has it is called once per round for all of its agents; per-agent
calls stay the general path. Both forms feed the same engine and the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from llmteams_lab.messages import AgentReply, AgentRequest, Question

__all__ = ["Backend", "BatchBackend", "RoundBatch", "RoundReplies"]


@runtime_checkable
class Backend(Protocol):
    """Answers one agent's request. Errors must be our own (``llmteams_lab.errors``)."""

    async def respond(self, request: AgentRequest) -> AgentReply: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class RoundBatch:
    """One round for many agents, in columns (arrays are indexed by agent index).

    acting        indices of the agents that act this round (sorted)
    previous      each agent's previous answer as an option index (-1: none yet)
    inbox_votes   (n, k) messages received per option this round
    inbox_weight  (n, k) confidence received per option, in thousandths (integers, so
                  sums are exact whatever order messages arrive in)
    inbox_size    (n,) messages read (drives the token model)
    roles         per-agent role text; ``view`` is the protocol's extra view
    """

    run_id: str
    round: int
    question: Question
    protocol: str
    acting: np.ndarray
    previous: np.ndarray
    inbox_votes: np.ndarray
    inbox_weight: np.ndarray
    inbox_size: np.ndarray
    view: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RoundReplies:
    """Replies of ``batch.acting`` in the same order, as columns.

    answer is an option index; confidence is in thousandths (0..1000).
    """

    answer: np.ndarray
    confidence: np.ndarray
    latency_s: np.ndarray
    tokens_in: np.ndarray
    tokens_out: np.ndarray


class BatchBackend(Protocol):
    """A backend that can answer a whole round in one call."""

    def respond_round(self, batch: RoundBatch) -> RoundReplies: ...

    async def aclose(self) -> None: ...


def replies_from_list(replies: list[AgentReply], question: Question) -> RoundReplies:
    """Pack per-agent replies into columns (unknown answers become -1)."""
    return RoundReplies(
        answer=np.array([question.index(r.answer) for r in replies], dtype=np.int64),
        confidence=np.array([_milli(r.confidence) for r in replies], dtype=np.int64),
        latency_s=np.array([r.latency_s for r in replies], dtype=np.float64),
        tokens_in=np.array([r.tokens_in for r in replies], dtype=np.int64),
        tokens_out=np.array([r.tokens_out for r in replies], dtype=np.int64),
    )


def _milli(confidence: float | None) -> int:
    if confidence is None:
        return 500
    return int(round(min(1.0, max(0.0, float(confidence))) * 1000))
