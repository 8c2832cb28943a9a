"""What a backend is to the engine: one declared protocol, and the batched round form.

A backend answers for agents. Every method the engine calls is declared here on
:class:`Backend`, with a safe default for the optional ones, so the engine never probes
an object for methods it might have:

============================  =====================================================
``async respond(request)``    one agent's reply (the general path: LLM, replay, mock)
``respond_round(batch)``      a whole round in one call; only when ``batched`` is true
                              (the simulated agents, vectorised with numpy)
``take_retries()``            attempts the backend retried on its own since the last
                              call (logged as ``AgentRetried``); default: none
``worst_case_round(...)``     the most tokens and dollars some agents can spend in a
                              round — a true upper bound (``backends.bounds``) — or
                              ``None`` when it cannot say (default)
``async aclose()``            release clients and connections
============================  =====================================================

``simulated`` says the replies come from the workload's simulated-agent model (the
fault injector models how such agents read an injected prompt; a real LLM reads it).
``virtual_time`` says a reply arrives at once and its ``latency_s`` is virtual (simulated
agents, mock, replay): an asynchronous run then simulates time; otherwise (a real model)
it runs in real time (``runtime.asynchronous``).

Our backends subclass :class:`Backend`. Any other object with ``respond`` and ``aclose``
(and optionally ``respond_round``) is adopted once, when a run is built, by
:func:`as_backend`, which wraps it with the defaults.

A backend that talks to a model over text is a *transport*: the workload's
:class:`Codec` renders a request as chat messages and parses the model's text back,
so one transport serves every workload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol, Sequence

import numpy as np

from llmteams_lab.errors import LifecycleError
from llmteams_lab.messages import AgentReply, AgentRequest, ParsedReply, Question

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.backends.retrying import Attempt

__all__ = ["Backend", "Codec", "RoundBatch", "RoundPreview", "RoundReplies", "as_backend", "replies_from_list"]


@dataclass(slots=True)
class RoundBatch:
    """One round for many agents, in columns (arrays are indexed by agent index).

    acting        indices of the agents that act this round (sorted)
    previous      each agent's previous answer as an option index (-1: none yet)
    inbox_votes   (n, k) messages received per option this round
    inbox_weight  (n, k) confidence received per option, in thousandths (integers, so
                  sums are exact whatever order messages arrive in)
    inbox_size    (n,) messages read (drives the token model)
    view          the protocol's extra view (e.g. ``{"phase": "aggregate"}``)
    """

    run_id: str
    round: int
    question: Question | None
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


class RoundPreview:
    """The next round as the budget check sees it, before it starts: ``preview(i)`` is
    agent i's request with the inbox it will read (messages delayed, duplicated or
    reordered by faults included), ``inbox_sizes[i]`` how many messages that is."""

    __slots__ = ("_request_of", "inbox_sizes")

    def __init__(self, request_of: Callable[[int], AgentRequest], inbox_sizes: np.ndarray):
        self._request_of = request_of
        self.inbox_sizes = inbox_sizes

    def __call__(self, i: int) -> AgentRequest:
        return self._request_of(i)


class Codec(Protocol):
    """How one workload talks to a language model (see ``llmteams_lab.workloads``).

    ``render`` builds the chat messages of a request; ``response_format`` the structured
    output asked for (``mode`` as ``EndpointSpec.structured``); ``parse`` reads the
    model's text (raising :class:`~llmteams_lab.errors.MalformedOutputError`);
    ``read_prompt`` turns rendered messages back into the request (``None`` if they
    are not this codec's) — how ``serve`` plays the agent.
    """

    name: str

    def render(self, request: AgentRequest, persona: str | None = None) -> list[dict[str, str]]: ...

    def response_format(self, request: AgentRequest, mode: str) -> dict[str, Any] | None: ...

    def parse(self, text: str | None, request: AgentRequest) -> ParsedReply: ...

    def read_prompt(self, messages: Any) -> AgentRequest | None: ...


class Backend:
    """Base class of every backend (see the module docstring for the protocol)."""

    batched: ClassVar[bool] = False
    simulated: ClassVar[bool] = False
    virtual_time: ClassVar[bool] = False

    async def respond(self, request: AgentRequest) -> AgentReply:
        raise NotImplementedError(f"{type(self).__name__} does not answer single agents")

    def respond_round(self, batch: RoundBatch) -> RoundReplies:
        raise NotImplementedError(f"{type(self).__name__} does not answer whole rounds (batched is False)")

    def take_retries(self) -> list["Attempt"]:
        return []

    def worst_case_round(self, round: int, agents: Sequence[int],
                         request_of: Callable[[int], AgentRequest]) -> tuple[int, float] | None:
        """Tokens and dollars ``agents`` can spend in ``round`` at most, or ``None`` if
        unknown. ``request_of(i)`` is agent i's request of that round, inbox included —
        a :class:`RoundPreview`, whose ``inbox_sizes`` say how many messages each reads."""
        return None

    async def aclose(self) -> None:
        return None


class _Adopted(Backend):
    """An object with ``respond``/``aclose`` (and maybe ``respond_round``) as a Backend."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.batched = callable(getattr(inner, "respond_round", None))  # type: ignore[misc]
        self.virtual_time = bool(getattr(inner, "virtual_time", False))  # type: ignore[misc]

    async def respond(self, request: AgentRequest) -> AgentReply:
        return await self.inner.respond(request)

    def respond_round(self, batch: RoundBatch) -> RoundReplies:
        return self.inner.respond_round(batch)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __repr__(self) -> str:
        return f"<adopted backend {self.inner!r}>"


def as_backend(obj: Any) -> Backend:
    """``obj`` as a :class:`Backend` (our backends as they are; other objects wrapped once)."""
    if isinstance(obj, Backend):
        return obj
    answers = callable(getattr(obj, "respond", None)) or callable(getattr(obj, "respond_round", None))
    if not answers or not callable(getattr(obj, "aclose", None)):
        raise LifecycleError(f"a backend needs async respond(request) (or respond_round(batch)) and async "
                             f"aclose(); {type(obj).__name__} has neither")
    return _Adopted(obj)


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
