"""Play and Pause: the lab's run stepped as an ``asyncio`` task on the kernel's own loop.

Why a task on the kernel's loop (never nest-asyncio, which would block the kernel so the
Pause click is never handled): between rounds the task sleeps (at least :data:`YIELD_S`),
which is when the kernel handles clicks. Pause cancels the task while it sleeps; if a
round is in flight (a slow LLM backend) it lets the round finish first, because
cancelling ``run.step()`` mid-round would fail the run. A round whose agents failed for
reasons no fault of the run explains (a real backend error) pauses Play and says why.

:class:`Playback` is a part of :class:`~llmteams_lab.ui.controller.LabController` (a
mixin: it steps through the controller's ``step`` and reports through its ``report``).
"""

from __future__ import annotations

import asyncio
import math
from typing import Awaitable, Callable

from llmteams_lab.errors import BackendError, LifecycleError, RunFailedError
from llmteams_lab.runtime import Steppable
from llmteams_lab.spec.faults import BACKEND_KINDS, DOWN_KINDS

__all__ = ["NOT_BACKEND_FAILURES", "Playback", "YIELD_S", "done_error"]

# Play's shortest pause between rounds. Not sleep(0): the kernel handles a widget message
# (a click, a view's acknowledgement) over many loop iterations, and sleep(0) grants one
# per round, so a Pause click would wait dozens of rounds. A millisecond drains them.
YIELD_S = 0.001
# AgentFailed ``fault`` values that are not backend errors (a crashed agent is "down")
NOT_BACKEND_FAILURES = frozenset(DOWN_KINDS)


class Playback:
    """Play, Pause and waiting for them (the controller's ``_task`` is Play's task)."""

    _task: asyncio.Task | None
    pace: Callable[[], Awaitable[None]] | None

    @property
    def playing(self) -> bool:
        return self._task is not None and not self._task.done()

    def play(self) -> asyncio.Task:
        """Start playing on the running loop (a kernel's); returns the task."""
        if self.playing:
            return self._task  # type: ignore[return-value]
        if self._in_step or self.state == "resetting":
            raise LifecycleError("a round is in progress; Play once it has finished")
        if self.run.done:
            raise done_error(self.run)
        loop = asyncio.get_running_loop()
        self._stop_after_step = False
        self._task = loop.create_task(self._play())
        self._task.add_done_callback(self._play_done)
        self._set_state("playing")
        return self._task

    def pause(self) -> None:
        """Stop playing: at once between rounds, or after the round in flight."""
        if not self.playing:
            return
        if self._in_step:
            self._stop_after_step = True
        else:
            self._task.cancel()  # type: ignore[union-attr]

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.run.done and not self._stop_after_step:
            started = loop.time()
            if await self.step() is None:
                return
            failures = self._backend_failures()
            if failures:
                self.report(BackendError(f"round {self.round}: " + "; ".join(failures)
                                         + " — paused; Step to continue or Reset"))
                return
            wait = 0.0 if math.isinf(self.speed) else 1.0 / max(self.speed, 1e-3) - (loop.time() - started)
            await asyncio.sleep(max(wait, YIELD_S))
            if self.pace is not None:
                await self.pace()

    def _play_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.report(task.exception())  # type: ignore[arg-type]
        if self.state in ("playing", "stepping"):
            self.state = "finished" if self.run.done else "idle"
        self._emit("state", self.state)  # always: "playing" no longer holds, whatever the state

    def _backend_failures(self) -> list[str]:
        """Real backend errors of the last round: failures no fault of the run explains (a
        backend fault in force on that agent, e.g. the 429s of a scheduled ``rate_limit``)."""
        failed = [n for n in self.history[-1].notes if n.kind == "AgentFailed" and n.fault not in NOT_BACKEND_FAILURES
                  and n.agent not in self._faulted and n.fault not in self._faulted]
        if not failed:
            return []
        backend = [f for f in self.faults_in_force() if f.kind in BACKEND_KINDS]
        return [f"{n.agent} failed ({n.fault}): {n.detail}" for n in failed
                if not any(f.targets() is None or n.agent in (f.targets() or ()) for f in backend)]

    async def wait(self) -> None:
        """Wait until Play stops (used by notebooks and tests)."""
        if self._task is not None:
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def aclose(self) -> None:
        """Stop playing and close the run: its backends release their HTTP clients (and
        the key filters they keep on the SDK's loggers while open)."""
        self.pause()
        await self.wait()
        await self.run.aclose()


def done_error(run: Steppable) -> LifecycleError:
    if run.status == "failed":
        return RunFailedError(f"the run failed in round {run.round}; press Reset to start again")
    return LifecycleError(f"the run has ended ({run.end_reason}) after round {run.round}; press Reset")
