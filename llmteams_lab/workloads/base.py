"""The seam between the engine and what a team works on: the workload plug-in.

The engine owns time, budgets, the network, backends and the event log; a workload
owns the team's *state* and what a reply means. Each workload is one sub-package of
``llmteams_lab.workloads`` exposing a :class:`WorkloadKind` (its registry entry): how
to build its state for a run, its :class:`~llmteams_lab.backends.base.Codec` (prompts and
reply parsing for LLM agents), its simulated-agent model (as a backend) and, when its
agents can be made to answer wrongly, its answer faults. A workload is driven in this
order every round::

    acting = workload.acting(r, alive)
    batch  = workload.batch(r, acting, inbox)        # for batched backends
    req    = workload.request(r, i, inbox)           # for per-agent backends
    t_end  = workload.apply(r, t0, acting, slots)    # record replies, update state
    workload.decide(r, alive)                        # the team's decision / done
    workload.broadcast(r, acting, slots) -> Outgoing # what each agent tells its peers
    workload.timers(r, acting) -> {agent: seconds}   # asynchronous runs: wake these agents
                                                     # then, unless something wakes them first

In an asynchronous run (``runtime.asynchronous``) the same hooks run per turn: ``acting``
are the agents that woke at one instant, ``r`` is the reporting slice, and ``batch``
gets a unique activation number as its round (it keys simulated agents' draws) while
``request`` gets the agent's own turn count. Messages carry a workload's own content in
their text (``Outgoing.texts``, e.g. JSON) and may name their recipients
(``Outgoing.named``); a workload records its own happenings with event types it defines
with :func:`llmteams_lab.events.define_event`. ``inbox.now`` is when the turn starts on
the run clock, so a workload whose agents keep deadlines (election and commit timeouts)
knows, when it builds a request, which deadlines have passed.

Its frame-level metrics live in ``llmteams_lab.metrics`` (they need polars, which sits
lower on the import ladder than the workloads).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend, Codec, RoundBatch
from llmteams_lab.messages import AgentRequest, Question
from llmteams_lab.protocols import Decision
from llmteams_lab.rounds import Inbox, Outgoing, RoundReplySlots
from llmteams_lab.spec import AgentSpec, TeamSpec

if TYPE_CHECKING:  # pragma: no cover - the engine's log and logging mode (runtime, above)
    from llmteams_lab.runtime.log import EventLog, LogMode

__all__ = ["AnswerFaults", "Workload", "WorkloadKind"]


class Workload(Protocol):
    """What the engine needs from a workload's state (see the module docstring).

    ``options`` are the answers an agent can give (empty when its replies are actions);
    ``question`` is the deliberation question (``None`` for other workloads);
    ``cost_used`` is the dollars its replies cost so far (for the budget check).
    """

    name: str
    decision: Decision
    options: tuple[str, ...]
    question: Question | None
    cost_used: float

    def acting(self, round: int, alive: np.ndarray) -> np.ndarray: ...

    def batch(self, round: int, acting: np.ndarray, inbox: Inbox) -> RoundBatch: ...

    def request(self, round: int, i: int, inbox: Inbox) -> AgentRequest: ...

    def apply(self, round: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> float: ...

    def decide(self, round: int, alive: np.ndarray) -> Decision: ...

    def broadcast(self, round: int, acting: np.ndarray, slots: RoundReplySlots) -> Outgoing: ...

    def timers(self, round: int, acting: np.ndarray) -> dict[int, float]: ...

    def outcome(self) -> tuple[str | None, bool | None]: ...

    def agreement(self, alive: np.ndarray) -> float: ...

    def state(self) -> dict[str, Any]: ...


class AnswerFaults(Protocol):
    """Faults that change what agents answer (Byzantine, sycophant ...), for workloads
    whose agents answer. The fault injector hands it each round's hits (see
    ``workloads.deliberation.faults``)."""

    options: tuple[str, ...]

    def payload(self, fault: Any) -> str: ...

    def apply(self, round: int, hits: dict, replied: np.ndarray, inbox: Inbox, slots: RoundReplySlots,
              adopt_draw: np.ndarray) -> dict[int, str]: ...

    def abstain(self, agents: Sequence[int]) -> None: ...


@dataclass(frozen=True)
class WorkloadKind:
    """One workload's registry entry.

    name          the workload's name (``AgentRequest.workload``)
    task_kinds    the ``TaskSpec.kind`` values it runs
    build         ``(spec, log, mode) -> Workload`` — its state for one run
    codec         how its requests and replies travel as text
    simulated     ``spec -> Backend`` — its simulated agents
    answer_faults ``(workload, susceptibility, simulated mask) -> AnswerFaults``, or ``None``
                  when its agents give no answers a fault could change
    continuous    in an asynchronous run, whether an agent takes its next turn as soon as
                  its last one ended (workers on a task board) rather than when a message
                  wakes it (deliberating agents)
    properties    ``spec -> (protocol name, property names)``: the safety and liveness
                  properties a run of ``spec`` promises (checked by ``metrics.safety``);
                  ``None``: the spec's deliberation protocol says (or none, for work division)
    serve         how its simulated agent answers one request read back from a prompt
                  (``codec.read_prompt``), for ``llmteams-lab serve``:
                  ``(request, profile, seed, truth) -> (reply text, latency_s)``, where
                  ``truth(question)`` is the right option when the server can know it
                  (``None``: its agents are not played by ``serve``)
    """

    name: str
    task_kinds: tuple[str, ...]
    build: Callable[[TeamSpec, "EventLog", "LogMode"], Workload]
    codec: Codec
    simulated: Callable[[TeamSpec], Backend]
    answer_faults: Callable[[Workload, Sequence[float | None], np.ndarray], AnswerFaults] | None = None
    continuous: bool = False
    properties: Callable[[TeamSpec], tuple[str, tuple[str, ...]]] | None = None
    serve: Callable[[AgentRequest, AgentSpec, int, Callable[[Question], "str | None"]],
                    tuple[str, float]] | None = None
