"""The lab's way back: the scrubber, the timeline menu, forks and ended faults.

Why together: each of these shows the team other than as it stands now — a past round of
this run (the scrubber), a timeline left by a fork (the menu), or a new run continuing
from the round on screen (Fork from here; ending a fault forks the run in place) — and
each must bring the views back to live when the user steps or plays again. The
controller keeps the timelines (:mod:`~llmteams_lab.ui.timelines`); this part of
:class:`~llmteams_lab.ui.lab.Lab` (a mixin) moves the views between them.
"""

from __future__ import annotations

from typing import Any

from llmteams_lab.errors import ArgumentError
from llmteams_lab.spec import TeamSpec
from llmteams_lab.ui.controls import CURRENT
from llmteams_lab.ui.figures import LiveFigures
from llmteams_lab.ui.forking import unfinished_slice
from llmteams_lab.ui.history import RoundState
from llmteams_lab.ui.status import time_label
from llmteams_lab.ui.timelines import Timeline

__all__ = ["TimeTravel"]


class TimeTravel:
    """Scrubbing, timelines and forks of the lab (see the module docstring)."""

    def _scrubbed(self, change: dict) -> None:
        r = change["new"]
        history = self._history()
        latest = history[-1].round
        if self.view.live and r == latest:
            return  # the lab itself moved the scrubber to the new round
        live = self.view.scrub(r, latest) and self.controls.timeline.value == CURRENT
        self.controls.scrubber.live = live
        self.controls.scrubber.time_label = time_label(self.controller, history[min(r, len(history) - 1)])
        self._show(history[min(r, len(history) - 1)], animate=True)
        self._sync()

    def back_to_live(self) -> None:
        """Show the latest round of the current run again (Step and Play do this too)."""
        if self.controls.timeline.value != CURRENT:
            self.controls.timeline.value = CURRENT
        if not self.view.live:
            self.view.go_live()
            self.controls.scrubber.live = True
            self._render(force=True)

    def _history(self) -> list[RoundState]:
        choice = self.controls.timeline.value
        for tl in self.controller.timelines:
            if tl.label == choice:
                return tl.history
        return self.controller.history

    def _timelines(self) -> None:
        labels = [tl.label for tl in self.controller.timelines]
        t = self.controls.timeline
        t.options = labels + [CURRENT]
        t.value = CURRENT
        t.layout.display = "" if labels else "none"

    def _show_timeline(self) -> None:
        history = self._history()
        latest = history[-1].round
        s = self.controls.scrubber
        past = self.controls.timeline.value != CURRENT
        with s.hold_sync():
            s.max = latest
            s.value = latest
            s.live = not past
        self.view.scrub(latest, latest if not past else latest + 1)
        self._show(history[-1], animate=False)
        self._sync()

    def _fork_round(self) -> int:
        return self.view.shown(self.controller.round)

    async def fork(self, at_round: int | None = None, *, spec: TeamSpec | None = None,
                   seed: int | None = None) -> Timeline:
        """Continue the team from ``at_round`` (default: the round on screen) as a new live
        run — with ``spec`` (default: the builder's) and ``seed`` if given. The timeline it
        leaves stays in the timeline menu, to scrub and compare."""
        k = self._fork_round() if at_round is None else at_round
        base = spec if spec is not None else self.builder.spec
        if seed is not None and seed != base.seed:
            base = base.replace(seed=seed)
        return await self.controller.fork(k, base if base != self.controller.spec else None)

    async def _end(self, fault: Any) -> None:
        await self.controller.end_fault(fault)
        self._partial = unfinished_slice(self.controller.run.events)  # the new run's events of the open slice
        self.view.go_live()
        self._notes_shown = -1
        self._render(force=True)

    def _recover(self, agent: str) -> None:
        """End every crash of ``agent`` (the fault panel's Recover)."""
        crashes = [f for f in self.controller.faults_in_force() if f.kind in ("crash", "crash_recover")
                   and agent in (f.targets() or ())]
        if not crashes:
            raise ArgumentError("agent", "must be a crashed agent (it has no crash to recover from)", agent)
        self._spawn(self._end(crashes[-1]))

    def _on_fork(self, old: Timeline, k: int) -> None:
        """A fork from round ``k``: keep rounds 0..k on screen and compare with ``old``."""
        if isinstance(self.figures, LiveFigures):
            self.figures.compare(old.label, old.history)  # before truncating: the whole old timeline
        self.figures.truncate(k)
        self._partial = unfinished_slice(self.controller.run.events)  # forked mid-slice: its events so far
        if self.controller.spec != self.builder.spec:
            self.builder.load(self.controller.spec)
        self._timelines()
        self.view.reset()
        self.view.go_live()
        self._notes_shown = -1
        self._render(force=True)
