"""The stepping protocol every run satisfies, and the lifecycle code they share.

A *run* is anything the lab, the CLI and the tests can step: a live
:class:`~llmteams_lab.runtime.engine.Run` or a replayed trace
(:class:`~llmteams_lab.datasets.replay.ReplayRun`). :class:`Steppable` declares what
they offer; :class:`Lifecycle` implements the shared part once — the states
ready → running → finished | failed → closed, one specific error for each misuse (see
``llmteams_lab.errors``), ``run()`` as a loop over ``step()`` (SimPy's shape), closing,
and ``async with`` — so a subclass writes only its own ``_step`` and ``_release``.

Optional capability: ``can_inject`` says whether faults can be injected live; a run
that cannot (a replay) refuses ``inject`` with a message saying what to do instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from llmteams_lab.errors import (
    LifecycleError,
    RunClosedError,
    RunFailedError,
    RunFinishedError,
    StepInProgressError,
)
from llmteams_lab.runtime.collector import paused_collector
from llmteams_lab.runtime.log import EventLog

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.events import Event
    from llmteams_lab.messages import Question
    from llmteams_lab.runtime.result import RunResult
    from llmteams_lab.spec import TeamSpec

__all__ = ["Lifecycle", "RoundSummary", "Steppable"]


@dataclass(frozen=True)
class RoundSummary:
    """What one ``step()`` did: the team's decision and agreement after the round.

    ``agreement`` (deliberation): the share of live agents holding the modal answer —
    the one definition of consensus (``protocols.deliberation``), which
    ``metrics.convergence`` reads from the events; for work division, the share of
    tasks done."""

    round: int
    decision: str | None
    correct: bool | None
    agreement: float
    done: bool
    reason: str
    clock: float


class Steppable(Protocol):
    """What the lab's controller (and anything else driving a run) may use."""

    spec: "TeamSpec | None"
    round: int
    clock: float
    status: str
    end_reason: str | None
    can_inject: bool

    @property
    def run_id(self) -> str: ...

    @property
    def events(self) -> "list[Event]": ...

    @property
    def done(self) -> bool: ...

    @property
    def question(self) -> "Question | None": ...

    def state(self) -> dict[str, dict[str, Any]]: ...

    async def step(self) -> RoundSummary: ...

    async def run(self, max_rounds: int | None = None) -> "RunResult": ...

    def result(self) -> "RunResult": ...

    def inject(self, fault: Any) -> Any: ...

    async def aclose(self) -> None: ...


class Lifecycle:
    """The lifecycle shared by every run (see the module docstring).

    Subclasses set ``self.log`` (an :class:`EventLog`) and implement ``_step()`` (one
    round), ``result()``, ``_failed(err)`` (record a failure mid-step), ``_closing()``
    (record closing an unfinished run) and ``_release()`` (free clients and sinks).
    ``pause_gc`` opts in to pausing the cyclic collector while a round runs
    (``runtime.collector``)."""

    log: EventLog
    can_inject = False
    noun = "run"

    def __init__(self, *, pause_gc: bool = False):
        self.round = 0
        self.clock = 0.0
        self.status = "ready"
        self.end_reason: str | None = None
        self.pause_gc = pause_gc
        self._stepping = False

    @property
    def run_id(self) -> str:
        return self.log.run_id

    @property
    def events(self) -> list:
        """Every event recorded so far, in order (typed records)."""
        return self.log.events

    @property
    def done(self) -> bool:
        return self.status in ("finished", "failed", "closed")

    async def step(self) -> RoundSummary:
        """Run exactly one round and return its summary. A failure inside the round keeps
        every event so far, records why the run ended and re-raises."""
        self._check_can_step()
        self._stepping = True
        try:
            if self.pause_gc:
                with paused_collector():
                    return await self._step()
            return await self._step()
        except BaseException as err:
            if self.status != "closed":
                self._failed(err)
            raise
        finally:
            self._stepping = False
            self.log.flush()

    async def run(self, max_rounds: int | None = None) -> "RunResult":
        """Step until the run ends (or ``max_rounds`` more rounds); return the result."""
        stepped = 0
        while not self.done and (max_rounds is None or stepped < max_rounds):
            await self.step()
            stepped += 1
        return self.result()

    def inject(self, fault: Any) -> Any:
        raise LifecycleError(f"this {self.noun} takes no faults: fork it into a live run first "
                             "(`run = await trace.fork(k)`)")

    async def aclose(self) -> None:
        """Release backends and sinks. An unfinished run records that it was closed."""
        if self.status == "closed":
            return
        if self.status in ("ready", "running"):
            self._closing()
        self.status = "closed"
        try:
            await self._release()
        finally:
            self.log.close()

    async def __aenter__(self) -> "Lifecycle":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- for subclasses ---------------------------------------------------------------
    async def _step(self) -> RoundSummary:
        raise NotImplementedError

    def result(self) -> "RunResult":
        raise NotImplementedError

    def _failed(self, err: BaseException) -> None:
        self.status = "failed"
        self.end_reason = "cancelled" if isinstance(err, asyncio.CancelledError) else getattr(err, "end_reason",
                                                                                               "error")

    def _closing(self) -> None:
        self.end_reason = "closed"

    async def _release(self) -> None:
        return None

    def _finished_error(self) -> LifecycleError:
        return RunFinishedError(f"{self.noun} {self.run_id} already ended ({self.end_reason}) after round "
                                f"{self.round}")

    def _check_can_step(self) -> None:
        if self.status == "closed":
            raise RunClosedError(f"{self.noun} {self.run_id} is closed; create a new one to continue")
        if self._stepping:
            raise StepInProgressError(f"{self.noun} {self.run_id} is already stepping round {self.round}; "
                                      "await the running step() first")
        if self.status == "failed":
            raise RunFailedError(f"{self.noun} {self.run_id} failed in round {self.round}; its events are kept "
                                 "in run.events — reset by creating a new Run")
        if self.status == "finished":
            raise self._finished_error()
