"""Real time for an asynchronous run whose agents are real models (like SimPy's ``rt``).

A backend that answers in virtual time (simulated agents, mock, replay) is awaited when
its agent acts, and the run clock jumps from happening to happening. A real model
cannot be: its calls take real seconds and several are under way at once. So the run
clock follows the wall clock from the run's start (or from the moment a fork hands over
to a real model), the calls run as background tasks while the clock advances, and the
calendar's next happening is handed out only when the wall clock reaches it — or when a
call returns first, which schedules its reply.
"""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine

from llmteams_lab.events import on_time_grid
from llmteams_lab.runtime.scheduler import Calendar, Happening

__all__ = ["WallClock"]


class WallClock:
    """The wall clock of one asynchronous run, and its backend calls in flight.

    ``on``: whether the run follows it (``False``: virtual time, nothing here is used)."""

    __slots__ = ("calls", "on", "_start")

    def __init__(self, on: bool):
        self.on = on
        self.calls: set[asyncio.Task] = set()  # real-time calls under way
        self._start: float | None = None  # the loop's time at the run clock's 0

    def follow(self, clock: float) -> None:
        """Follow the wall clock from now on, continuing from the run clock's ``clock``."""
        self.on = True
        self._start = asyncio.get_running_loop().time() - clock

    def now(self) -> float:
        """The run clock now (on its microsecond grid); the first call starts it at 0."""
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        return on_time_grid(loop.time() - self._start)

    def start(self, call: Coroutine[Any, Any, None]) -> None:
        """Run ``call`` (a turn's backend calls) in the background."""
        task = asyncio.get_running_loop().create_task(call)
        self.calls.add(task)
        task.add_done_callback(self.calls.discard)

    async def next(self, calendar: Calendar, t1: float) -> Happening | None:
        """The calendar's next happening due by ``t1``, once the wall clock reaches it
        (meanwhile calls may return and schedule theirs), or ``None`` when the slice
        ending at ``t1`` has nothing more."""
        while True:
            top = calendar.peek()
            now = self.now()
            if top is not None and top.time <= min(now, t1):
                return calendar.pop()
            if now >= t1 and (top is None or top.time > t1):
                return None
            if top is None and not self.calls:
                return None
            until = min(t1, top.time if top is not None else t1)
            timeout = max(0.0, until - now)
            if self.calls:
                await asyncio.wait(self.calls, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(timeout)
