"""The lab's controller: the one object that owns the engine; widgets only call it.

Why one owner: Step, Play, Reset, the scrubber and live fault injection all touch the
same :class:`~llmteams_lab.runtime.Run`. Funnelling them through here gives one place
that knows whether a step is in flight (so a fault clicked mid-step is queued until the
round ends, and Reset/Step are refused), one place that turns each round's events into
history, and one place where every exception is caught and *reported* — in JupyterLab
an exception raised in a widget callback or a background task is otherwise lost.

Forks: :meth:`LabController.fork` continues the team from a past round as a new live
run, keeping the old timeline (its history and run) in :attr:`LabController.timelines` to
scrub and compare; :meth:`LabController.end_fault` recovers, heals or undoes a fault
the same way, in place (see :mod:`llmteams_lab.ui.forking`). Asynchronous runs fork by
slices, or where they stand mid-slice, with their turns re-executed one by one.

Big teams: a run whose rounds would log more than :data:`PER_MESSAGE_LIMIT` messages is
run with aggregated logging (per-round counts, ``logging = "rounds"``) so a round of a
1,000-agent complete team stays a few milliseconds; :attr:`LabController.logging_note`
says so, and the lab shows it.

Play runs as an ``asyncio`` task on the kernel's own loop (never nest-asyncio, which
would block the kernel so the Pause click is never handled). Between rounds the task
sleeps (at least :data:`YIELD_S`), which is when the kernel handles clicks. Pause cancels
the task while it sleeps; if a round is in flight (a slow LLM backend) it lets the round
finish first, because cancelling ``run.step()`` mid-round would fail the run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from llmteams_lab.errors import (
    ArgumentError,
    BackendError,
    LifecycleError,
    RunFailedError,
)
from llmteams_lab.events import Event
from llmteams_lab.runtime import RoundSummary, Run, Steppable
from llmteams_lab.runtime.log import LogBatch
from llmteams_lab.runtime.store import EventStore
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import BACKEND_KINDS, DOWN_KINDS, FaultSpec
from llmteams_lab.ui.forking import bounded, fork_run, forkable, recorded_spec, unfinished_slice
from llmteams_lab.ui.history import FaultNote, RoundState, fault_notes, next_state

__all__ = ["LabController", "PER_MESSAGE_LIMIT", "TOPICS", "Timeline", "messages_per_round"]

TOPICS = ("error", "faults", "fork", "reset", "round", "state")
# Above this many messages a round, the lab logs rounds in aggregate (see the module doc).
PER_MESSAGE_LIMIT = 10_000
# Play's shortest pause between rounds. Not sleep(0): the kernel handles a widget message
# (a click, a view's acknowledgement) over many loop iterations, and sleep(0) grants one
# per round, so a Pause click would wait dozens of rounds. A millisecond drains them.
YIELD_S = 0.001
# AgentFailed ``fault`` values that are not backend errors (a crashed agent is "down")
NOT_BACKEND_FAILURES = frozenset(DOWN_KINDS)


def messages_per_round(spec: TeamSpec) -> int:
    """Messages one round of ``spec`` sends when everyone talks (its topology's arcs)."""
    n = len(spec.agents)
    if spec.topology.kind == "complete":
        return n * (n - 1)
    return len(spec.arcs())


@dataclass
class Timeline:
    """One timeline of the lab: a run's rounds as the lab saw them (kept after a fork)."""

    label: str
    run: Steppable
    history: list[RoundState]
    notes: list[FaultNote]
    forked_at: int | None = None  # the round of the timeline it was forked from


class LabController:
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
        self.run_spec, self.logging_note = _lab_logging(spec)
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
    def playing(self) -> bool:
        return self._task is not None and not self._task.done()

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
            raise _done_error(self.run)
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
        self._spec_events.extend(_spec_events(events))
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

    # --- play / pause ------------------------------------------------------------------
    def play(self) -> asyncio.Task:
        """Start playing on the running loop (a kernel's); returns the task."""
        if self.playing:
            return self._task  # type: ignore[return-value]
        if self._in_step or self.state == "resetting":
            raise LifecycleError("a round is in progress; Play once it has finished")
        if self.run.done:
            raise _done_error(self.run)
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
            raise _done_error(self.run)
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


    # --- forks ----------------------------------------------------------------------------
    def faults_in_force(self) -> list[FaultSpec]:
        """Every fault of the run so far: scheduled in the spec, or injected (pending ones too)."""
        spec = self._recorded_spec()
        known = list(spec.faults)
        return known + [f for f in self.injected if f not in known]

    async def fork(self, at_round: int, spec: TeamSpec | None = None) -> Timeline:
        """Continue the team from ``at_round`` as a new live run (``spec``: e.g. another seed
        or model; its agents must be the team's). The current timeline is kept in
        :attr:`timelines`; returns it."""
        k = self._fork_round(at_round)
        recorded = self._recorded_spec()
        original = set(self.run_spec.faults)
        kept = tuple(f for f in recorded.faults if f in original or f.first_round <= k)  # not the old future
        base = forkable((spec or self.spec).replace(faults=kept))
        if base.seed != self.run_spec.seed and base.task.seed is None:  # same question, other draws
            base = base.replace(task=base.task.replace(seed=self.run_spec.task.seed
                                                        if self.run_spec.task.seed is not None else self.run_spec.seed))
        if spec is not None:
            base, _note = _lab_logging(base)
        old = Timeline(self.label, self.run, self.history, self.notes, self._forked_at())
        run = await self._forked(k, base, f"{self.run.run_id}~fork{len(self.timelines) + 1}@{k}")
        self.timelines.append(old)
        self.spec = forkable(spec) if spec is not None else self.spec
        self.label = f"fork {len(self.timelines)} @ {'slice' if self.asynchronous else 'round'} {k}"
        self._adopt(run, k, base, injected=[f for f in self.injected if f.first_round <= k])
        await old.run.aclose()
        self._emit("fork", old, k)
        return old

    async def end_fault(self, fault: FaultSpec) -> FaultSpec | None:
        """Recover, heal or undo ``fault`` (one of :meth:`faults_in_force`) from the next
        round on; returns the fault as it now stands (``None``: undone before it acted)."""
        faults = self.faults_in_force()
        if fault not in faults:
            raise ArgumentError("fault", f"must be one of the run's faults {faults}", fault)
        k = self._fork_round(self.round)
        ended = bounded(fault, k)
        i = faults.index(fault)
        rest = faults[:i] + ([ended] if ended is not None else []) + faults[i + 1:]
        started = tuple(f for f in rest if f.first_round <= k or f in self.run_spec.faults)
        spec = self.run_spec.replace(faults=started)
        run = await self._forked(k, spec, self.run.run_id if "~" in self.run.run_id else f"{self.run.run_id}~r{k}")
        old = self.run
        self._adopt(run, self.round, spec, injected=[f for f in rest if f not in started or f in self.injected],
                    keep=True)
        for pending in (f for f in rest if f not in started):
            self.run.inject(pending)
        await old.aclose()
        verb = {"crash": "recovered", "crash_recover": "recovered", "partition": "healed"}.get(fault.kind, "ended")
        note = FaultNote(k + 1, "ended", fault.kind, fault.agent or (fault.link or (None,))[0],
                         fault.link[1] if fault.link else None, verb)
        self.notes.append(note)
        self._emit("faults", note)
        return ended

    def _recorded_spec(self) -> TeamSpec:
        """The run's spec with its live faults scheduled (``forking.recorded_spec`` of its log).

        Read from the few events that define it (``RunStarted``, the faults' starts), kept
        as rounds arrive and parsed again only when one is added: the lab asks for it at
        every frame, and reading the whole log each time made a frame cost O(events so far)
        (a quarter of a second after 100 rounds of a 20-agent team).
        """
        count = len(self._spec_events)
        if self._recorded is None or self._recorded[0] != count:
            self._recorded = (count, recorded_spec(self._spec_events, self.run_spec))
        return self._recorded[1]

    def _fork_round(self, at_round: int) -> int:
        if self.busy:
            raise LifecycleError("pause the lab before forking it")
        if isinstance(at_round, bool) or not isinstance(at_round, int) or not 0 <= at_round <= self.round:
            raise ArgumentError("at_round", f"must be a round of this run in [0, {self.round}]", at_round)
        if self.run_spec.logging == "rounds" and at_round > 0:
            raise LifecycleError("this run logs rounds in aggregate (no per-agent replies to re-execute), so it "
                                 "cannot fork after round 0; fork it at round 0 or use a smaller team")
        return at_round

    async def _forked(self, k: int, spec: TeamSpec, run_id: str) -> Run:
        self._set_state("resetting")
        try:
            return await fork_run(self.run.events, k, spec, run_id=run_id, backends=self._backends_for(spec),
                                  source=self.run)
        except Exception:
            self._set_state("finished" if self.run.done else "idle")
            raise

    def _adopt(self, run: Run, k: int, spec: TeamSpec, *, injected: list[FaultSpec], keep: bool = False) -> None:
        """Make ``run`` (standing after round ``k``) the lab's run, keeping rounds 0..k."""
        self.run, self.run_spec = run, spec
        self.history = self.history[: k + 1] if not keep else self.history
        self.notes = [n for n in self.notes if n.round <= k] if not keep else self.notes
        self.injected = injected
        self._pending.clear()
        self._seen = len(run.events)
        self._slice_events = unfinished_slice(run.events)  # an asynchronous slice forked in its middle
        self._spec_events, self._recorded = _spec_events(run.events), None
        self.state = "finished" if run.done else "idle"
        self._emit("state", self.state)

    @property
    def can_fork(self) -> bool:
        """Whether the run can be forked (and its faults ended) past round 0: it logs each
        agent's replies, which a fork re-executes (not a run logged by rounds in aggregate)."""
        return self.run_spec.logging != "rounds"

    def _forked_at(self) -> int | None:
        return int(self.label.rsplit(" ", 1)[1]) if self.label.startswith("fork") else None


def _lab_logging(spec: TeamSpec) -> tuple[TeamSpec, str]:
    """The spec the lab runs (aggregated logging for huge rounds) and a note saying why."""
    if spec.logging != "messages":
        return spec, ""
    count = messages_per_round(spec)
    if count <= PER_MESSAGE_LIMIT:
        return spec, ""
    note = (f"{count:,} messages a round: logged per round (counts, not one row per message) so each round "
            f"takes milliseconds; message-level faults (drop, partition …) need a smaller team")
    return spec.replace(logging="rounds"), note


def _spec_events(events: Any) -> list:
    """The events :func:`~llmteams_lab.ui.forking.recorded_spec` reads: the run's start
    (it holds the spec) and each fault's start (live injections are folded in from them)."""
    return [e for e in events if e.kind == "RunStarted" or (e.kind == "FaultApplied" and e.value == "start")]


def _done_error(run: Steppable) -> LifecycleError:
    if run.status == "failed":
        return RunFailedError(f"the run failed in round {run.round}; press Reset to start again")
    return LifecycleError(f"the run has ended ({run.end_reason}) after round {run.round}; press Reset")
