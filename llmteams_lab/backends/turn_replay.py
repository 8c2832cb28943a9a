"""Replaying an asynchronous run turn by turn, then handing over to live backends.

Why not :class:`~llmteams_lab.backends.replay.ReplayBackend`: that one answers
``(round, agent)``, which is right for synchronous rounds. In an asynchronous run an
agent acts whenever something wakes it, its request carries its *own* turn counter,
and the log files each reply under the reporting slice in which it *ended*. What does
identify a turn in the log is the agent and the virtual time it began: every
``AgentReplied`` / ``AgentFailed`` row of a turn has ``t_start`` = the turn's start
(an agent cannot begin two turns at one instant; if it somehow did, its rows there are
used in log order). The engine calls an asynchronous run's backends at the instant a
turn begins, so the run's clock says which turn is asked: :class:`TurnReplayBackend`
reads it through ``clock`` (set by whoever builds the run, e.g. ``lambda: run.clock``).

Driving the engine with it re-executes the recorded run happening by happening — same
calendar, same draws of link delays, same events — which is how an asynchronous run
forks (``datasets.async_fork``): turns begun before the fork point are answered from
the trace, and once :meth:`TurnReplayBackend.hand_over` is called every later turn goes
to ``then`` (one backend, or a mapping from agent id to backend).

Two corrections keep the re-execution exact. A straggler fault stretches a reply's
latency after the backend answers, and the log records the stretched one, so ``unstretch``
(agent, latency) undoes the stretch the replaying run will apply again. And a turn still
running when the log ends has no row yet: the run being forked knows its reply (it is
in the calendar), so the fork passes those as ``under_way``, keyed like the rows.

Any other turn the log has no row for is one whose reply never landed: either it was still
running when a saved log ends (then ``then`` answers it, live, and its reply lands after
the log's end, as the recorded one did), or the agent crashed while it ran, which
discards the reply unlogged. For the latter the backend answers with a
placeholder whose latency reaches just past the agent's next recorded crash, so the reply
lands (and is discarded) while the agent is down, as in the recorded run.
"""

from __future__ import annotations

import copy
import dataclasses
from bisect import bisect_right
from collections import deque
from typing import Any, Callable, Mapping, Sequence

from llmteams_lab.backends.base import Backend, as_backend
from llmteams_lab.backends.replay import replayed
from llmteams_lab.errors import LifecycleError
from llmteams_lab.events import TICKS_PER_SECOND, Event, on_time_grid
from llmteams_lab.messages import AgentReply, AgentRequest
from llmteams_lab.spec.faults import DOWN_KINDS

__all__ = ["TurnReplayBackend"]

# a crash acts when its slice opens, after every happening due by then: a discarded
# reply lands one tick of the clock's grid later
GRID_S = 1 / TICKS_PER_SECOND
Turn = tuple[str, float]  # (agent, the virtual time its turn began)


class TurnReplayBackend(Backend):
    """Answers an asynchronous agent's turns as a recorded run did (module doc)."""

    def __init__(self, records: Sequence[Event], then: Any, *, clock: Callable[[], float] | None = None,
                 under_way: Mapping[Turn, AgentReply | BaseException] | None = None,
                 unstretch: Callable[[str, float], float] | None = None):
        self.then = then
        self.clock = clock
        self.unstretch = unstretch
        self.live = False
        self._under_way = dict(under_way or {})
        self.replayed = 0  # turns answered from the trace
        self._rows: dict[Turn, deque[Event]] = {}
        self._texts: dict[int, str] = {}  # reply seq -> the text its messages carried
        self._down: dict[str, list[float]] = {}  # agent -> the times it was recorded down
        for e in records:
            if e.agent is None:
                continue
            if e.kind == "AgentFailed" and e.fault in DOWN_KINDS:
                self._down.setdefault(e.agent, []).append(float(e.t_start))
            elif e.kind in ("AgentReplied", "AgentFailed"):
                self._rows.setdefault((e.agent, on_time_grid(float(e.t_start))), deque()).append(e)
            elif e.kind == "MessageSent" and e.cause is not None and e.detail:
                self._texts.setdefault(int(e.cause), e.detail)
        for times in self._down.values():
            times.sort()
        self._end = max((float(e.t_end) for e in records), default=0.0)  # when the log ends

    @property
    def virtual_time(self) -> bool:  # type: ignore[override]
        """Recorded turns come at once with their recorded latency; after the hand-over,
        whatever the live backends say (a real model: real time)."""
        return not self.live or self.live_in_virtual_time

    @property
    def live_in_virtual_time(self) -> bool:
        """Whether the backends answering after the hand-over answer in virtual time."""
        return all(getattr(b, "virtual_time", False) for b in self._later())

    def hand_over(self) -> None:
        """From now on every turn is answered by ``then`` (the fork point is reached)."""
        self.live = True

    def has(self, agent: str, began: float) -> bool:
        """Whether the trace records a turn of ``agent`` begun at ``began`` (not yet replayed)."""
        return bool(self._rows.get((agent, on_time_grid(began))))

    async def respond(self, request: AgentRequest) -> AgentReply:
        if not self.live:
            if self.clock is None:
                raise LifecycleError("a turn replay needs the run's clock: set backend.clock = lambda: run.clock")
            began = on_time_grid(float(self.clock()))
            found = self._recorded(request, began)
            if found is not None:
                return found
            down = self._next_down(request.agent, began)
            if down is not None:  # a turn lost to a crash: its reply must land once the agent is down
                return AgentReply(request.agent, request.previous_answer, None, "", 0, 0,
                                  on_time_grid(down - began) + GRID_S, None)
            return await self._after_the_log(request, began)
        target = self.then[request.agent] if isinstance(self.then, Mapping) else self.then
        return await target.respond(request)

    async def _after_the_log(self, request: AgentRequest, began: float) -> AgentReply:
        """A turn begun within the log whose reply the log does not hold: it was still
        running when the log ended, so ``then`` answers it, landing after that end."""
        target = self.then[request.agent] if isinstance(self.then, Mapping) else self.then
        least = on_time_grid(self._end - began) + GRID_S
        try:
            reply = await target.respond(request)
        except Exception as err:
            if getattr(err, "latency_s", None) is not None and err.latency_s < least:  # type: ignore[attr-defined]
                err.latency_s = least  # type: ignore[attr-defined]
            raise
        return reply if reply.latency_s >= least else dataclasses.replace(reply, latency_s=least)

    def _recorded(self, request: AgentRequest, began: float) -> AgentReply | None:
        """The logged (or under-way) outcome of the turn begun at ``began``, if known."""
        agent = request.agent
        rows = self._rows.get((agent, began))
        if rows:
            self.replayed += 1
            row = rows.popleft()
            latency = self._raw(agent, float(row.t_end) - float(row.t_start))
            return replayed(row, self._texts.get(row.seq, ""), agent, latency)
        pending = self._under_way.pop((agent, began), None)
        if pending is None:
            return None
        self.replayed += 1
        if isinstance(pending, AgentReply):
            return dataclasses.replace(pending, latency_s=self._raw(agent, pending.latency_s))
        err = copy.copy(pending)  # the forked run's own error stays as it was
        err.latency_s = self._raw(agent, float(getattr(pending, "latency_s", None) or 0.0))  # type: ignore[attr-defined]
        raise err

    def _raw(self, agent: str, latency: float) -> float:
        """``latency`` before the replaying run's straggler faults stretch it (again)."""
        return latency if self.unstretch is None else self.unstretch(agent, latency)

    def _next_down(self, agent: str, began: float) -> float | None:
        times = self._down.get(agent, ())
        i = bisect_right(times, began)
        return times[i] if i < len(times) else None

    def take_retries(self) -> list:
        """What the live backends retried on their own (the trace's replies are final)."""
        return [a for backend in self._later() for a in as_backend(backend).take_retries()]

    def _later(self) -> list:
        if isinstance(self.then, Mapping):
            return list({id(b): b for b in self.then.values()}.values())
        return [self.then]

    async def aclose(self) -> None:
        for backend in self._later():
            await backend.aclose()
