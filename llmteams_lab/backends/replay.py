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
from typing import Any, Mapping, Sequence

from llmteams_lab.backends.base import Backend
from llmteams_lab.errors import BackendError, TraceEndedError, backend_error_class
from llmteams_lab.events import Event
from llmteams_lab.messages import AgentReply, AgentRequest

__all__ = ["ReplayBackend", "SwitchBackend"]

class ReplayBackend(Backend):
    """Answers ``(round, agent)`` from a recorded run's events (see the module doc)."""

    virtual_time = True  # replies come at once with their (scripted / recorded) latency

    def __init__(self, records: Sequence[Event], *, fallback: Any = None):
        self.fallback = fallback
        self._rows: dict[tuple[int, str], Event] = {}
        self._texts: dict[tuple[int, str], str] = {}
        for e in records:
            if e.kind in ("AgentReplied", "AgentFailed") and e.agent is not None:
                self._rows[(e.round, e.agent)] = e
            elif e.kind == "MessageSent" and e.agent is not None and e.detail:
                self._texts.setdefault((e.round, e.agent), e.detail)
        self.last_round = max((r for r, _ in self._rows), default=0)

    def has(self, round: int, agent: str) -> bool:
        return (round, agent) in self._rows

    async def respond(self, request: AgentRequest) -> AgentReply:
        row = self._rows.get((request.round, request.agent))
        if row is None:
            if self.fallback is not None:
                return await self.fallback.respond(request)
            raise TraceEndedError(f"the trace has no reply of agent {request.agent!r} in round {request.round} "
                                  f"(it records rounds 1..{self.last_round})")
        latency = float(row.t_end) - float(row.t_start)
        if row.kind == "AgentFailed":
            cls = backend_error_class(row.fault or "")
            err = cls(row.detail or f"recorded failure ({row.fault})", latency_s=latency)
            if cls is BackendError and row.fault:
                err.kind = row.fault  # keep the recorded kind (e.g. a fault the injector applied)
            raise err
        detail = _json(row.detail)
        actions = tuple(tuple(str(x) for x in a) for a in detail.get("actions", ()) if a)
        return AgentReply(row.agent or request.agent, row.value, detail.get("confidence"),
                          self._texts.get((request.round, request.agent), ""), int(row.tokens_in),
                          int(row.tokens_out), latency, row.cost_usd, actions=actions)

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

    async def aclose(self) -> None:
        await self.first.aclose()
        later = list({id(b): b for b in self.then.values()}.values()) if isinstance(self.then, Mapping) \
            else [self.then]
        for backend in later:
            await backend.aclose()


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
