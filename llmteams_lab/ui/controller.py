"""The lab's controller: the one object that owns the engine; widgets only call it.

Why one owner: Step, Play, Reset, the scrubber and live fault injection all touch the
same :class:`~llmteams_lab.runtime.Run`. Funnelling them through here gives one place
that knows whether a step is in flight (so a fault clicked mid-step is queued until the
round ends, and Reset/Step are refused), one place that turns each round's events into
history, and one place where every exception is caught and *reported* — in JupyterLab
an exception raised in a widget callback or a background task is otherwise lost.

Its other parts have modules of their own: Play and Pause (:mod:`~llmteams_lab.ui.playback`),
forks and ended faults (:mod:`~llmteams_lab.ui.timelines`), and aggregated logging for
huge teams (:mod:`~llmteams_lab.ui.lab_logging`: :attr:`LabController.logging_note` says
when a run's rounds are logged as counts).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any, Awaitable, Callable, Sequence

from llmteams_lab.errors import ArgumentError, LifecycleError
from llmteams_lab.events import Event
from llmteams_lab.runtime import RoundSummary, Run, Steppable
from llmteams_lab.runtime.log import LogBatch
from llmteams_lab.runtime.store import EventStore
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.ui.history import FaultNote, RoundState, fault_notes, next_state
from llmteams_lab.ui.lab_logging import PER_MESSAGE_LIMIT, lab_logging, messages_per_round
from llmteams_lab.ui.playback import Playback, done_error
from llmteams_lab.ui.timelines import Timeline, Timelines, spec_events

__all__ = ["LabController", "PER_MESSAGE_LIMIT", "TOPICS", "Timeline", "messages_per_round"]

TOPICS = ("error", "faults", "fork", "reset", "round", "state")


class LabController(Playback, Timelines):
    """Owns one :class:`Run` of ``spec`` at a time and its per-round history.

    backends  as for ``Run`` (instance or mapping), or a callable ``spec -> backends``
              called at every reset (so a rebuilt run gets fresh clients)
    speed     Play's pace in rounds per second (``math.inf``: as fast as possible)
    run_factory  ``spec -> run`` building something with the engine's shape instead of a
              :class:`Run` (e.g. a ``ReplayRun`` of a recorded trace); called at every reset
    """

    def __init__(self, spec: TeamSpec, *, backends: Any = None, speed: float = 5.0,
                 run_factory: Callable[[TeamSpec], Steppable] | None = None):
        self._backends = backends
        self._run_factory = run_factory
        self._listeners: dict[str, list[Callable[..., None]]] = {t: [] for t in TOPICS}
        self.speed = speed
        self.errors: list[BaseException] = []
        self._task: asyncio.Task | None = None
        self._in_step = False
        self._stop_after_step = False
        self._pending: list[Any] = []
        # awaited between rounds while playing: lets a view hold Play back (see Lab)
        self.pace: Callable[[], Awaitable[None]] | None = None
        self.timelines: list[Timeline] = []  # earlier timelines (forked from), oldest first
        self._start(spec)

    # --- state -------------------------------------------------------------------------
    def _start(self, spec: TeamSpec) -> None:
        self.spec = spec
        self.run_spec, self.logging_note = lab_logging(spec)
        self.run: Steppable = self._run_factory(spec) if self._run_factory is not None \
            else Run(self.run_spec, backends=self._backends_for(spec))
        self.history: list[RoundState] = [RoundState.initial(spec.ids)]
        self.notes: list[FaultNote] = []
        self.injected: list[FaultSpec] = []  # live faults, with their effective schedule
        self.label = "run"
        self.timelines = []
        self.error: BaseException | None = None
        self._seen = 0
        self._slice_events: list = []  # events of the latest round so far (a slice advanced in parts)
        self._spec_events: list = []  # the events the recorded spec is read from (see _recorded_spec)
        self._recorded: tuple[int, TeamSpec] | None = None
        self._faulted: set[str] = set()  # agents and fault kinds (untargeted faults) injected
        self.state = "finished" if self.run.done else "idle"

    def _backends_for(self, spec: TeamSpec) -> Any:
        b = self._backends
        if callable(b) and not hasattr(b, "respond") and not hasattr(b, "respond_round"):
            return b(spec)
        return b

    @property
    def busy(self) -> bool:
        """A step or Play is in progress (Step, Reset and the scrubber must wait)."""
        return self._in_step or self.playing or self.state == "resetting"

    @property
    def round(self) -> int:
        return self.history[-1].round

    def subscribe(self, topic: str, fn: Callable[..., None]) -> None:
        """Call ``fn`` on ``topic`` (see :data:`TOPICS`); its errors are reported, not raised."""
        if topic not in self._listeners:
            raise ArgumentError("topic", f"must be one of {list(TOPICS)}", topic)
        self._listeners[topic].append(fn)

    def _emit(self, topic: str, *args: Any) -> None:
        for fn in list(self._listeners[topic]):
            try:
                fn(*args)
            except Exception as err:  # a broken listener must not stop the run
                if topic == "error":
                    raise
                self.report(err)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._emit("state", state)

    def report(self, err: BaseException) -> None:
        """Record an exception and show it (every widget callback and task ends here)."""
        self.errors.append(err)
        self._emit("error", err)

    # --- stepping ----------------------------------------------------------------------
    @property
    def asynchronous(self) -> bool:
        """The team runs asynchronously: a "round" is a slice of virtual time."""
        return self.spec.execution != "synchronous"

    @property
    def can_advance(self) -> bool:
        """Whether :meth:`step` can process single happenings (a live asynchronous run)."""
        return self.asynchronous and hasattr(self.run, "advance")

    async def step(self, happenings: int | None = None) -> RoundSummary | None:
        """Run one round (an asynchronous run: one slice of virtual time, or only its next
        ``happenings`` happenings); ``None`` if it failed (the error is reported and kept)."""
        if happenings is not None and not self.can_advance:
            raise ArgumentError("happenings", "applies to a live asynchronous run only (a synchronous run steps "
                                              "whole rounds)", happenings)
        if self._in_step or self.state == "resetting":
            raise LifecycleError("a round is already in progress; wait for it to finish")
        if self.run.done:
            raise done_error(self.run)
        playing = self.playing and asyncio.current_task() is self._task
        if self.playing and not playing:
            raise LifecycleError("the lab is playing; pause it before stepping")
        self._in_step = True
        self._set_state("playing" if playing else "stepping")
        try:
            summary = await (self.run.step() if happenings is None else self.run.advance(happenings))  # type: ignore
        except Exception as err:
            self._record(None)
            self.error = err
            self._in_step = False
            self._set_state("error")
            self.report(err)
            return None
        finally:
            self._in_step = False
        self._record(summary)
        self._flush_pending()
        if not playing:
            self._set_state("finished" if self.run.done else "idle")
        return summary

    def _record(self, summary: RoundSummary | None) -> None:
        """Turn the events since the last round into history and notify listeners."""
        events = self._new_events()
        self._seen += len(events)
        r = summary.round if summary is not None else self.run.round
        new_round = r > self.history[-1].round
        # a slice advanced in parts (or a failed step that never started a round) is one
        # history entry: rebuilt from the state before it with all its events so far
        self._slice_events = list(events) if new_round else self._slice_events + list(events)
        before = self.history[-1] if new_round or len(self.history) == 1 else self.history[-2]
        # the run's own snapshot (answers, and for live runs liveness and faults) wins over the events
        state = next_state(before, self.spec.ids, r, self._slice_events, self.run.state(), None)
        state = dataclasses.replace(state, time=float(summary.clock if summary is not None else self.run.clock))
        self._faulted.update(e.agent or e.fault for e in events if e.kind == "FaultApplied")
        self._spec_events.extend(spec_events(events))
        if new_round:
            self.history.append(state)
        else:
            self.history[-1] = state
        self.notes.extend(fault_notes(events))
        self._emit("round", state, events)

    def _new_events(self) -> Sequence[Event]:
        """The events logged since the last round. A live run's come as a slice of its event
        store (typed on first use, and readable as columns: the plots build their frame from
        the arrays, without a Python object per event); a replay's as a list."""
        log = self.run.events
        store = getattr(log, "store", None)
        if isinstance(store, EventStore):
            return LogBatch(store, self._seen, len(log))
        return log[self._seen:]

    async def run_rounds(self, rounds: int | None = None) -> RoundState:
        """Step until the run ends (or ``rounds`` rounds); from a notebook: ``await``."""
        stepped = 0
        while not self.run.done and (rounds is None or stepped < rounds):
            if await self.step() is None:
                break
            stepped += 1
        return self.history[-1]

    # --- reset and faults --------------------------------------------------------------
    async def reset(self, spec: TeamSpec | None = None) -> None:
        """Close the current run and start a fresh one of ``spec`` (default: the same)."""
        if self.busy:
            raise LifecycleError("pause the lab before resetting it")
        self._set_state("resetting")
        old = self.run
        try:
            await old.aclose()  # release clients before a new run opens its own
            self._pending.clear()
            self._start(spec or self.spec)
        except Exception as err:
            self.error = err
            self._set_state("error")
            self.report(err)
            return
        self._emit("reset", self.spec)
        self._emit("state", self.state)

    def inject(self, fault: Any) -> FaultSpec | None:
        """Inject ``fault`` live; it takes effect from the next round (queued mid-step: then
        ``None`` is returned, else the fault with its effective schedule).

        An invalid fault raises the engine's :class:`SpecError` and changes nothing.
        """
        if not self.run.can_inject:
            raise LifecycleError("a replayed trace takes no faults: fork it into a live run first "
                                 "(`run = await trace.fork(k)`) and open a Lab on that run's spec")
        if self.run.done:
            raise done_error(self.run)
        if self._in_step:
            self._pending.append(fault)
            return None
        effective = self.run.inject(fault)
        self._note_injected(effective)
        return effective

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, []
        for fault in pending:
            try:
                self.inject(fault)
            except Exception as err:
                self.report(err)

    def _note_injected(self, fault: FaultSpec) -> None:
        self.injected.append(fault)
        link = fault.link or (None, None)
        self._faulted.add(fault.agent or fault.kind)
        detail = json.dumps(fault.to_dict(), sort_keys=True)
        note = FaultNote(self.round + 1, "injected", fault.kind, fault.agent or link[0], link[1], detail)
        self.notes.append(note)
        self._emit("faults", note)
