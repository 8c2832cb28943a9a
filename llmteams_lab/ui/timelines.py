"""Timelines: the controller's forks, and faults ended by forking the run in place.

Why: a lab user asks "what if?" — :meth:`Timelines.fork` continues the team from a past
round as a new live run, keeping the old timeline (its history and run) in
``LabController.timelines`` to scrub and compare; :meth:`Timelines.end_fault` recovers,
heals or undoes a fault the same way, in place. Both re-execute the recorded rounds
(:mod:`llmteams_lab.ui.forking`); asynchronous runs fork by slices, or where they stand
mid-slice, with their turns re-executed one by one.

:class:`Timelines` is a part of :class:`~llmteams_lab.ui.controller.LabController` (a
mixin over its run, history and notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmteams_lab.errors import ArgumentError, LifecycleError
from llmteams_lab.runtime import Run, Steppable
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.ui.forking import bounded, fork_run, forkable, recorded_spec, unfinished_slice
from llmteams_lab.ui.history import FaultNote, RoundState
from llmteams_lab.ui.lab_logging import lab_logging

__all__ = ["Timeline", "Timelines", "spec_events"]


@dataclass
class Timeline:
    """One timeline of the lab: a run's rounds as the lab saw them (kept after a fork)."""

    label: str
    run: Steppable
    history: list[RoundState]
    notes: list[FaultNote]
    forked_at: int | None = None  # the round of the timeline it was forked from


class Timelines:
    """Forks and ended faults of the controller's run (see the module docstring)."""

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
            base, _note = lab_logging(base)
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
        self._spec_events, self._recorded = spec_events(run.events), None
        self.state = "finished" if run.done else "idle"
        self._emit("state", self.state)

    @property
    def can_fork(self) -> bool:
        """Whether the run can be forked (and its faults ended) past round 0: it logs each
        agent's replies, which a fork re-executes (not a run logged by rounds in aggregate)."""
        return self.run_spec.logging != "rounds"

    def _forked_at(self) -> int | None:
        return int(self.label.rsplit(" ", 1)[1]) if self.label.startswith("fork") else None


def spec_events(events: Any) -> list:
    """The events :func:`~llmteams_lab.ui.forking.recorded_spec` reads: the run's start
    (it holds the spec) and each fault's start (live injections are folded in from them)."""
    return [e for e in events if e.kind == "RunStarted" or (e.kind == "FaultApplied" and e.value == "start")]

