"""The replay backend: agents answer exactly as a recorded run says they did.

Each ``AgentReplied`` row of a trace becomes the agent's reply in that round — answer
(``value``), confidence and work-division actions (from the JSON ``detail``), the text
it sent (the ``detail`` of its ``MessageSent`` rows), tokens, cost and latency
(``t_end − t_start``); each ``AgentFailed`` row re-raises the recorded failure (same
kind, same latency). Driving the engine with it re-executes a recorded run, which is
how a replay forks: :class:`SwitchBackend` answers from the trace up to round k and
from another backend afterwards.

A request the trace has no row for raises :class:`~llmteams_lab.errors.TraceEndedError`
(or is passed to ``fallback`` when one is given).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Sequence

from llmteams_lab.backends.base import Backend, as_backend
from llmteams_lab.backends.retrying import Attempt
from llmteams_lab.errors import BackendError, TraceEndedError, backend_error_class
from llmteams_lab.events import Event
from llmteams_lab.messages import AgentReply, AgentRequest

__all__ = ["ReplayBackend", "SwitchBackend"]

class ReplayBackend(Backend):
    """Answers ``(round, agent)`` from a recorded run's events (see the module doc).

    ``unstretch(agent, round, latency)``: the latency to answer with for a recorded one —
    a run that re-executes the trace with straggler faults stretches each reply again, so
    it passes the inverse of that stretch (``datasets.async_fork.straggling_undone``).

    ``own_retries``: the trace's ``AgentRetried`` rows are retries the answering backend
    made on its own (an LLM endpoint's), so each recorded reply hands them back through
    :meth:`take_retries` and a re-executed round logs them again, in place. Leave it off
    when the team's failure policy retried (the fault injector replays those itself)."""

    virtual_time = True  # replies come at once with their (scripted / recorded) latency

    def __init__(self, records: Sequence[Event], *, fallback: Any = None, own_retries: bool = False,
                 unstretch: Callable[[str, int, float], float] | None = None):
        self.fallback = fallback
        self.unstretch = unstretch
        self._rows: dict[tuple[int, str], Event] = {}
        self._texts: dict[tuple[int, str], str] = {}
        self._retried: dict[tuple[int, str], list[Event]] = {}
        self._round_start: dict[int, float] = {}
        self._pending: list[Attempt] = []
        for e in records:
            if e.kind in ("AgentReplied", "AgentFailed") and e.agent is not None:
                self._rows[(e.round, e.agent)] = e
            elif e.kind == "MessageSent" and e.agent is not None and e.detail:
                self._texts.setdefault((e.round, e.agent), e.detail)
            elif e.kind == "AgentRetried" and own_retries and e.agent is not None:
                self._retried.setdefault((e.round, e.agent), []).append(e)
            elif e.kind == "RoundStarted":
                self._round_start[e.round] = float(e.t_start)
        self.last_round = max((r for r, _ in self._rows), default=0)

    def take_retries(self) -> list[Attempt]:
        """The recorded own retries of the replies given since the last call."""
        taken, self._pending = self._pending, []
        return taken

    def _queue_retries(self, round: int, agent: str) -> None:
        t0 = self._round_start.get(round, 0.0)
        for e in self._retried.get((round, agent), ()):
            detail = _json(e.detail)
            cls = backend_error_class(e.fault or "")
            err = cls(str(detail.get("error", "")))
            if cls is BackendError and e.fault:
                err.kind = e.fault
            self._pending.append(Attempt(agent, int(detail.get("attempt", 1)), float(e.t_start) - t0,
                                         float(e.t_end) - float(e.t_start), float(detail.get("backoff_s", 0.0)), err))

    def has(self, round: int, agent: str) -> bool:
        return (round, agent) in self._rows

    def worst_case_round(self, round: int, agents: Sequence[int], request_of: Any) -> tuple[int, float] | None:
        """Exactly what the trace recorded for these agents in ``round`` (``None`` past its
        end, where a fallback answers)."""
        if round > self.last_round:
            return None
        tokens, cost = 0, 0.0
        for i in agents:
            row = self._rows.get((round, request_of(int(i)).agent))
            if row is not None:
                tokens += int(row.tokens_in) + int(row.tokens_out)
                cost += row.cost_usd or 0.0
        return tokens, cost

    async def respond(self, request: AgentRequest) -> AgentReply:
        row = self._rows.get((request.round, request.agent))
        if row is None:
            if self.fallback is not None:
                return await self.fallback.respond(request)
            raise TraceEndedError(f"the trace has no reply of agent {request.agent!r} in round {request.round} "
                                  f"(it records rounds 1..{self.last_round})")
        self._queue_retries(request.round, request.agent)
        latency = float(row.t_end) - float(row.t_start)
        if self.unstretch is not None:  # the run replaying it stretches stragglers' latencies again
            latency = self.unstretch(request.agent, request.round, latency)
        return replayed(row, self._texts.get((request.round, request.agent), ""), request.agent, latency)

    async def aclose(self) -> None:
        if self.fallback is not None:
            await self.fallback.aclose()


class SwitchBackend(Backend):
    """Rounds ≤ ``after_round`` go to ``first``, later rounds to ``then`` — one backend or
    a mapping from agent id to backend. Closing it closes both."""

    def __init__(self, first: Any, then: Any, *, after_round: int):
        self.first = first
        self.then = then
        self.after_round = after_round

    @property
    def virtual_time(self) -> bool:  # type: ignore[override]
        later = self.then.values() if isinstance(self.then, Mapping) else [self.then]
        return bool(getattr(self.first, "virtual_time", False)) and all(
            getattr(b, "virtual_time", False) for b in later)

    async def respond(self, request: AgentRequest) -> AgentReply:
        if request.round <= self.after_round:
            return await self.first.respond(request)
        target = self.then[request.agent] if isinstance(self.then, Mapping) else self.then
        return await target.respond(request)

    def take_retries(self) -> list:
        """What the backends behind it retried on their own (logged as ``AgentRetried``)."""
        return [a for backend in [self.first, *self._later()] for a in as_backend(backend).take_retries()]

    def worst_case_round(self, round: int, agents: Sequence[int], request_of: Any) -> tuple[int, float] | None:
        """The bound of whichever backend answers ``round`` (``None`` if one cannot say)."""
        if round <= self.after_round:
            return as_backend(self.first).worst_case_round(round, agents, request_of)
        if not isinstance(self.then, Mapping):
            return as_backend(self.then).worst_case_round(round, agents, request_of)
        tokens, cost = 0, 0.0
        for i in agents:  # per agent: its own backend's bound
            found = as_backend(self.then[request_of(int(i)).agent]).worst_case_round(round, [i], request_of)
            if found is None:
                return None
            tokens, cost = tokens + found[0], cost + found[1]
        return tokens, cost

    def _later(self) -> list:
        if isinstance(self.then, Mapping):
            return list({id(b): b for b in self.then.values()}.values())
        return [self.then]

    async def aclose(self) -> None:
        await self.first.aclose()
        for backend in self._later():
            await backend.aclose()


def replayed(row: Event, text: str, agent: str, latency: float | None = None) -> AgentReply:
    """The reply an ``AgentReplied`` row records (``text``: what it sent), or the error an
    ``AgentFailed`` row records, raised again with its kind and latency (``latency``:
    instead of the recorded one, e.g. before a straggler fault stretched it)."""
    latency = float(row.t_end) - float(row.t_start) if latency is None else latency
    if row.kind == "AgentFailed":
        cls = backend_error_class(row.fault or "")
        err = cls(row.detail or f"recorded failure ({row.fault})", latency_s=latency)
        if cls is BackendError and row.fault:
            err.kind = row.fault  # keep the recorded kind (e.g. a fault the injector applied)
        raise err
    detail = _json(row.detail)
    actions = tuple(tuple(str(x) for x in a) for a in detail.get("actions", ()) if a) or _chosen(detail)
    return AgentReply(row.agent or agent, row.value, detail.get("confidence"), text, int(row.tokens_in),
                      int(row.tokens_out), latency, row.cost_usd, actions=actions)


def _chosen(detail: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    """A role-playing agent's recorded ``choices`` as the reply's actions (``{"stand":
    true, "vote": "a2"}`` -> ``("stand",), ("vote", "a2")``; false and null were not chosen),
    the inverse of how ``workloads.roles`` logs them."""
    choices = detail.get("choices")
    if not isinstance(choices, dict):
        return ()
    return tuple((name,) if value is True else (name, str(value))
                 for name, value in sorted(choices.items()) if value is not None and value is not False)


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
