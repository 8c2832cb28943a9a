"""How the lab brings its views up to the round they should show, without flooding the browser.

Why: the engine can run rounds far faster than a browser paints them. Each round's points
go to the plots at once (:meth:`Rendering._on_round`), but a frame — graph, status line,
table, plots — is sent only when the browser has painted the last one (one frame in
flight, see ``TeamGraph`` on flow control, and :class:`~llmteams_lab.ui.view_state.ViewState`);
while it is in flight the round counter still follows, and Play holds
(:meth:`Rendering._pace`) once the page has lagged ``MAX_LAG_S``. The plots are redrawn at
most every ``PLOT_INTERVAL_S`` while playing.

:class:`Rendering` is a part of :class:`~llmteams_lab.ui.lab.Lab` (a mixin over its widgets).
"""

from __future__ import annotations

import asyncio
import time
from html import escape

from llmteams_lab.ui.controls import CURRENT
from llmteams_lab.ui.history import FaultNote, RoundState
from llmteams_lab.ui.status import status_html, time_label
from llmteams_lab.ui.work_figures import WorkFigures

__all__ = ["COUNTER_INTERVAL_S", "MAX_LAG_S", "PACE_TIMEOUT_S", "PLAY_FLIGHTS", "PLOT_INTERVAL_S", "Rendering"]

# Play holds once the browser has been drawing one frame this long (see ViewState) ...
MAX_LAG_S = 1.0
PACE_TIMEOUT_S = 2.0  # ... and goes on after waiting this long anyway (a closed tab never acknowledges)
# While playing, the plots are redrawn at most this often (every point still arrives), and
# less often when the page is slow to draw them (see ViewState.plot_share): a plotly redraw of
# both figures costs the browser 0.1–1 s on a shared 2-core machine, many graph frames' worth,
# and delays whatever the page must show next (a Pause).
PLOT_INTERVAL_S = 0.5
# While the graph's frame is in flight, the status line and the scrubber still follow the
# engine's round this often (small updates: the round counter is never seconds behind).
COUNTER_INTERVAL_S = 0.25
PLAY_FLIGHTS = 48  # message dots flown per round while playing (a sample; all of them when stepping)


class Rendering:
    """Controller events in, frames out (see the module docstring)."""

    def _on_round(self, state: RoundState, events: list) -> None:
        """Record the round's points; show it now, or as soon as the browser has caught up.
        (A slice advanced happening by happening is plotted once, when it closes.)"""
        if self.controller.asynchronous and not any(e.kind in ("RoundEnded", "RunEnded") for e in events):
            self._partial.extend(events)
        else:
            if self._partial:  # (else the controller's slice of the run's log as it is: cheap to plot)
                events, self._partial = self._partial + list(events), []
            self.figures.add_round(events, redraw=False,
                                   **({"state": state} if isinstance(self.figures, WorkFigures) else {}))
        self.view.round_arrived()
        self._render()

    async def _pace(self) -> None:
        """Hold Play while the browser has been drawing one frame for ``MAX_LAG_S`` (a
        bounded wait). Frames never pile up (one in flight, see ``_render``), so this only
        keeps the engine from running far past what a stalled page has shown."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PACE_TIMEOUT_S
        while self.view.must_wait(time.monotonic(), MAX_LAG_S, self.graph.caught_up):
            if loop.time() >= deadline:
                self.view.waited(time.monotonic())
                return
            await asyncio.sleep(0.005)

    def _render(self, *, force: bool = False) -> None:
        """Bring every view up to the round it should show (see ``TeamGraph`` on flow control)."""
        now = time.monotonic()
        drawn = all(v.caught_up for v in self.figures.views)  # never queue a redraw behind an undrawn one
        if drawn:
            self.view.plots_drawn(now)
        ctl = self.controller
        if not self.view.take_frame(now, caught_up=self.graph.caught_up, force=force):
            if ctl.playing and self.view.live and self.view.counter_due(now, COUNTER_INTERVAL_S):
                self._follow()  # the round counter stays current while the graph's frame is in flight
                self._sync()
            return
        if (drawn or force) and self.view.plots_due(now, playing=ctl.playing, force=force):
            self.figures.redraw()
        elif not drawn:
            self.view.plots_behind = True
        self._follow()
        self._show_log()
        self._sync()
        if self.view.live and self.controls.timeline.value == CURRENT:  # last: the paint acknowledges the frame
            self._show(ctl.history[-1], animate=True)

    def _follow(self) -> None:
        """Bring the scrubber to the latest round (its end, and its value while live)."""
        ctl, s = self.controller, self.controls.scrubber
        with s.hold_sync():
            s.max = max(ctl.round, 0)
            s.live = self.view.live
            if self.view.live:
                s.value = ctl.round
                s.time_label = time_label(self.controller, ctl.history[-1])

    def _on_state(self, _state: str) -> None:
        self._sync()  # first: the user sees "idle" and a Play button at once
        self.graph.hold = not self.controller.playing
        if not self.controller.playing:
            self.view.stopped()
            self._render(force=True)  # a paused or finished lab shows its last round at once

    def _on_error(self, err: BaseException) -> None:
        self.errors.show(err)
        self._sync()

    def _on_fault(self, note: FaultNote) -> None:
        self._show_log()
        if note.kind == "injected" and note.agent in self.graph.agents and note.peer is None:
            marks = [list(m) for m in self.graph.faults]
            i = self.graph.agents.index(note.agent)
            marks[i] = sorted(set(marks[i]) | {note.fault})
            self.graph.faults = marks

    def _show_log(self) -> None:
        ctl = self.controller
        key = len(ctl.notes) + 1000 * len(ctl.injected) + 10**6 * ctl.round
        if key != self._notes_shown:
            self._notes_shown = key
            self.fault_log.show(ctl.notes, ctl.faults_in_force(), ctl.round)

    def _show(self, state: RoundState, *, animate: bool) -> None:
        playing = self.controller.playing
        self.graph.show(state, animate=animate, sample=PLAY_FLIGHTS if playing else None)
        if not playing or self.table.state.round == 0:  # while playing the table waits (unreadable at 20/s,
            self.table.show(state)                      # and the costliest DOM update); Pause shows it
            self.message.value = ""
        self.figures.mark(None if self.view.live and self.controls.timeline.value == CURRENT else state.round)

    def _sync(self) -> None:
        ctl = self.controller
        past = self.controls.timeline.value != CURRENT
        self.controls.sync(ctl.state, ctl.run.done, ctl.playing, viewing_past=past, can_fork=ctl.can_fork or self._fork_round() == 0)
        self.controls.status.value = status_html(ctl, self.view, edited=self.builder.spec != ctl.spec)
        self.controls.note.value = escape(ctl.logging_note)
