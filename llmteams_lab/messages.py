"""Plain records exchanged between the engine, protocols and backends (level 2).

Why separate from events: a message or a request is *data in flight* that backends
read; an event is the *record* of something having happened. Keeping them apart lets
a backend (even a third-party one) depend on these few records and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AgentReply", "AgentRequest", "Message", "ParsedReply", "Question"]


@dataclass(frozen=True, slots=True)
class Question:
    """A deliberation question with its ground truth.

    ``options`` are the admissible answers (as text); ``answer`` is one of them.
    """

    id: str
    prompt: str
    options: tuple[str, ...]
    answer: str
    kind: str = "multiple_choice"

    def index(self, value: str | None) -> int:
        """Option index of ``value``, or -1 when it is not an option (or ``None``)."""
        try:
            return self.options.index(value)  # type: ignore[arg-type]
        except ValueError:
            return -1


@dataclass(frozen=True, slots=True)
class Message:
    """What one agent told another in a round: its answer, confidence and text.

    ``payload`` carries an injected instruction (prompt-injection faults); real LLMs
    see it as text, the simulated backend models how susceptible the reader is.
    """

    round: int
    sender: str
    receiver: str
    answer: str | None
    confidence: float | None = None
    text: str = ""
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class AgentRequest:
    """Everything one agent is given in one round.

    inbox            messages delivered to it since its last turn (sorted by sender)
    previous_answer  its own answer last round (``None`` in round 1)
    view             the protocol's extra view (e.g. ``{"phase": "aggregate"}``, the
                     leader's decision, a task board snapshot) — plain JSON-able data
    workload         what the team works on (``"deliberation"``, ``"work_division"`` ...):
                     which codec renders the request for a language model
    """

    run_id: str
    round: int
    agent: str
    role: str
    question: Question | None
    inbox: tuple[Message, ...] = ()
    previous_answer: str | None = None
    previous_confidence: float | None = None
    protocol: str = "debate"
    view: dict[str, Any] = field(default_factory=dict)
    workload: str = "deliberation"


@dataclass(frozen=True, slots=True)
class AgentReply:
    """One agent's reply: answer, confidence, message text, actions and usage.

    latency_s        seconds the reply took (virtual for simulated agents, measured
                     for real ones); a round lasts as long as its slowest reply
    usage_estimated  True when the server gave no usage and tokens were estimated
    actions          work-division actions such as ``("claim", "t3")``
    recipients       the agents its message is for, when the reply names them (an LLM's
                     ``to``); ``None``: the sender's configured addressing (broadcast)
    """

    agent: str
    answer: str | None
    confidence: float | None = None
    text: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    cost_usd: float | None = 0.0
    usage_estimated: bool = False
    actions: tuple[tuple[str, ...], ...] = ()
    attempts: int = 1
    recipients: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """What a workload's codec read from a model's text: an answer (one of the options,
    or ``None`` for workloads without answers), a confidence in [0, 1] (``None``:
    unknown), the message for peers and any actions (work division's verbs)."""

    answer: str | None
    confidence: float | None = None
    message: str = ""
    actions: tuple[tuple[str, ...], ...] = ()
