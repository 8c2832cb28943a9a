"""``Lab(spec)``: the notebook lab — builder, team graph, controls, live plots, tables.

The Lab only composes widgets and wires them to one :class:`LabController`; it holds
no engine state itself. Every widget callback goes through :meth:`Lab._guard` or
:meth:`Lab._spawn`, so an exception raised in a callback or in a task it starts is
shown in the lab's error panel instead of vanishing into the kernel log. What the views
show — the live round or a past one — and what is waiting to be drawn is one small
:class:`~llmteams_lab.ui.view_state.ViewState`.

From a notebook::

    lab = Lab(team(7, protocol="debate", seed=1)); lab      # display it
    await lab.step()            # or click Step (key →);  lab.play() / lab.pause() (space)
    await lab.run()             # to the end;     lab.events, lab.summary()
    await lab.fork(3)           # continue from round 3 as a new timeline

An asynchronous team (``execution = "asynchronous"``, chosen in the builder too) is
stepped in slices of virtual time — Step is one slice, "Happening" (``await
lab.advance()``) processes only the next happening — and the lab adds the live
space-time diagram beside the team graph (:class:`~llmteams_lab.ui.spacetime_view.SpacetimeView`;
``spacetime=True`` shows it for synchronous teams too).
"""

from __future__ import annotations

import asyncio
import time
from html import escape
from typing import Any, Callable, Coroutine

import ipywidgets as w
import polars as pl

from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import ArgumentError, DatasetError, LifecycleError
from llmteams_lab.metrics import events_frame, round_summary
from llmteams_lab.spec import TeamSpec, team
from llmteams_lab.spec.presets import PRESETS
from llmteams_lab.ui.builder import TeamBuilder
from llmteams_lab.ui.controller import LabController, Timeline
from llmteams_lab.ui.controls import CURRENT, Controls
from llmteams_lab.ui.errors import ErrorPanel
from llmteams_lab.ui.export import ExportPanel
from llmteams_lab.ui.faults import FaultLog, FaultPanel
from llmteams_lab.ui.figures import LiveFigures
from llmteams_lab.ui.forking import unfinished_slice
from llmteams_lab.ui.graph import TeamGraph
from llmteams_lab.ui.history import FaultNote, RoundState
from llmteams_lab.ui.home import HomeLoop
from llmteams_lab.ui.layout import compose
from llmteams_lab.ui.spacetime_view import SpacetimeView
from llmteams_lab.ui.tables import MessageTable, message_html
from llmteams_lab.ui.view_state import ViewState
from llmteams_lab.ui.work_figures import WorkFigures

__all__ = ["Lab"]

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


def _figures_for(spec: TeamSpec, options: int | None) -> LiveFigures | WorkFigures:
    return WorkFigures(spec) if spec.task.kind == "work_division" else LiveFigures(len(spec.agents), options)


class Lab:
    """The lab for ``spec`` (default: 7 simulated agents debating on a complete graph).

    backends  passed to the engine (see :class:`LabController`)
    speed     Play's initial pace, rounds (or slices) per second
    spacetime show the live space-time diagram: ``None`` for asynchronous teams only,
              ``True`` always, ``False`` never
    """

    def __init__(self, spec: TeamSpec | None = None, *, backends: Any = None, speed: float = 5.0,
                 run_factory: Callable[[TeamSpec], Any] | None = None, spacetime: bool | None = None):
        spec = spec if spec is not None else team(7, topology="complete", protocol="debate", seed=1)
        self.home = HomeLoop()  # widget callbacks run on this loop, whichever thread received them
        self.controller = LabController(spec, backends=backends, speed=speed, run_factory=run_factory)
        self.view = ViewState(plot_interval=PLOT_INTERVAL_S)
        self.builder = TeamBuilder(spec)
        self.graph = TeamGraph()
        self.figures = _figures_for(spec, self._options_count())
        self.table = MessageTable()
        self.message = w.HTML()
        self.fault_log = FaultLog()
        self.errors = ErrorPanel()
        self.faults = FaultPanel(self.controller, self.controller.report, recover=self._recover, call=self.home.call)
        self.controls = Controls(speed)
        self.controls.fork_seed.value = spec.seed
        self.presets = w.Dropdown(options=[("presets …", "")] + [(p.title, k) for k, p in PRESETS.items()],
                                  value="", layout=w.Layout(width="330px"))
        self.presets.add_class("ltl-presets")
        self.preset_info = w.HTML()
        self.export = ExportPanel(self._export_source, self._spawn, self.controller.report, call=self.home.call)
        self.slot = w.VBox(layout=w.Layout(display="none"))  # the space-time diagram, when a run offers one
        self._views: list[Callable[[LabController], Any]] = [self._spacetime_for]
        self._spacetime_choice = spacetime
        self.spacetime: SpacetimeView | None = None  # built when first shown
        self._partial: list = []  # events of an asynchronous slice advanced in parts (not yet plotted)
        self._notes_shown = -1
        self._set_team(spec)
        self.widget = compose(self)
        self._offer_views()
        self._wire()
        self.controller.pace = self._pace
        self._sync()

    @classmethod
    def replay(cls, trace: ReplayRun, *, speed: float = 5.0) -> "Lab":
        """A lab stepping through a recorded run (ours or one of the paper's): Step, Play,
        the scrubber and the live plots work as on a live run; Reset starts the trace
        again; "Fork from here" continues it as a live (simulated) team."""
        if trace.spec is None:
            raise DatasetError(f"trace {trace.run_id!r} records no spec this version can rebuild, so the lab "
                               "cannot draw its team; step it with `await trace.step()` instead")
        records, run_id, spec = trace.records, trace.run_id, trace.spec
        return cls(spec, speed=speed, run_factory=lambda _spec: ReplayRun(records, spec=spec, run_id=run_id))

    # --- wiring -----------------------------------------------------------------------------
    def _wire(self) -> None:
        c, ctl = self.controls, self.controller
        c.step.on_click(self._guard(lambda _: self._do("step")))
        c.happening.on_click(self._guard(lambda _: self._do("happening")))
        c.play.on_click(self._guard(lambda _: self._do("play")))
        c.reset.on_click(self._guard(lambda _: self._spawn(self.reset())))
        c.fork.on_click(self._guard(lambda _: self._spawn(self.fork(self._fork_round(), seed=c.fork_seed.value))))
        c.speed.observe(self._guard(lambda _: setattr(ctl, "speed", c.rounds_per_second)), "value")
        c.scrubber.observe(self._guard(self._scrubbed), "value")
        c.scrubber.on_key(self._guard(self._do))
        c.scrubber.on_live(self._guard(lambda: self.back_to_live()))
        c.timeline.observe(self._guard(lambda _: self._show_timeline()), "value")
        self.graph.observe(self._guard(self._clicked), "selected")
        self.table.observe(self._guard(lambda ch: self._read(ch["new"])), "selected")
        self.builder.on_spec(self._guard(lambda _spec: self._sync()))
        self.presets.observe(self._guard(lambda ch: self._spawn(self.load_preset(ch["new"])) if ch["new"] else None),
                             "value")
        self.fault_log.on_end(self._guard(lambda fault: self._spawn(self._end(fault))))
        ctl.subscribe("round", self._on_round)
        ctl.subscribe("state", self._on_state)
        self.graph.on_painted(self._guard(lambda: self._render()))
        ctl.subscribe("error", self._on_error)
        ctl.subscribe("reset", self._on_reset)
        ctl.subscribe("fork", self._on_fork)
        ctl.subscribe("faults", self._on_fault)
        self.figures.on_error(self.home.wrap(self.controller.report))  # a plot that cannot be drawn is never silent

    def _guard(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """Wrap a widget callback so it runs on the lab's loop (see :mod:`~llmteams_lab.ui.home`)
        and its exceptions are shown in the panel."""
        def handler(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as err:
                self.controller.report(err)
        return self.home.wrap(handler)

    def _spawn(self, coro: Coroutine) -> asyncio.Task:
        """Run ``coro`` as a task on the kernel's loop; its exception is reported."""
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            raise LifecycleError("the lab needs a running event loop (open it in a Jupyter kernel)") from None
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.controller.report(task.exception())  # type: ignore[arg-type]

    def _do(self, action: str) -> None:
        """Step or Play/Pause (a button or a key): both return the views to live."""
        ctl = self.controller
        if action == "play" and ctl.playing:
            ctl.pause()
            return
        self.back_to_live()
        if action == "play":
            ctl.play()
        elif not ctl.busy and not ctl.run.done:
            self._spawn(ctl.step(1 if action == "happening" else None))
        elif action == "step" and ctl.run.done:
            self._spawn(ctl.step())  # reports why (the run has ended)

    # --- controller events -----------------------------------------------------------------
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
                s.time_label = self._time_label(ctl.history[-1])

    def _on_state(self, _state: str) -> None:
        self._sync()  # first: the user sees "idle" and a Play button at once
        self.graph.hold = not self.controller.playing
        if not self.controller.playing:
            self.view.stopped()
            self._render(force=True)  # a paused or finished lab shows its last round at once

    def _on_error(self, err: BaseException) -> None:
        self.errors.show(err)
        self._sync()

    def _on_reset(self, spec: TeamSpec) -> None:
        if spec != self.builder.spec:
            self.builder.load(spec)
        self._swap_figures(spec)
        self._set_team(spec)
        self._notes_shown = -1
        self._partial = []
        self._show_log()
        self.faults.select({})
        self._timelines()
        self.view.reset()
        s = self.controls.scrubber
        with s.hold_sync():
            s.value, s.max, s.live, s.time_label = 0, 0, True, self._time_label(self.controller.history[-1])
        self._offer_views()
        self._sync()

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

    # --- history, timelines, forks -----------------------------------------------------------
    def _scrubbed(self, change: dict) -> None:
        r = change["new"]
        history = self._history()
        latest = history[-1].round
        if self.view.live and r == latest:
            return  # the lab itself moved the scrubber to the new round
        live = self.view.scrub(r, latest) and self.controls.timeline.value == CURRENT
        self.controls.scrubber.live = live
        self.controls.scrubber.time_label = self._time_label(history[min(r, len(history) - 1)])
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

    # --- what is on screen -------------------------------------------------------------------
    def _show(self, state: RoundState, *, animate: bool) -> None:
        playing = self.controller.playing
        self.graph.show(state, animate=animate, sample=PLAY_FLIGHTS if playing else None)
        if not playing or self.table.state.round == 0:  # while playing the table waits (unreadable at 20/s,
            self.table.show(state)                      # and the costliest DOM update); Pause shows it
            self.message.value = ""
        self.figures.mark(None if self.view.live and self.controls.timeline.value == CURRENT else state.round)

    def _clicked(self, change: dict) -> None:
        selected = change["new"] or {}
        if selected.get("kind") == "message":
            self._read(int(selected.get("index", -1)))
            return
        self.faults.select(selected)

    def _read(self, index: int) -> None:
        """Show message ``index`` of the round on screen in full (a dot or a row clicked)."""
        state = self.table.state
        if 0 <= index < len(state.messages):
            self.message.value = message_html(state.round, state.messages[index], self.table.unit)

    def _set_team(self, spec: TeamSpec) -> None:
        unit = "round" if spec.execution == "synchronous" else "slice"
        self.controls.use_slices(unit == "slice")
        if not self.controller.can_advance:  # a replayed trace steps whole slices
            self.controls.happening.layout.display = "none"
        if getattr(self.figures, "unit", unit) != unit and isinstance(self.figures, LiveFigures):
            self.figures.unit = unit
            self.figures.redraw()
        self.graph.unit = self.table.unit = unit
        self.fault_log.can_end = self.controller.can_fork  # ending a fault forks the run (LabController.fork)
        self.fault_log.unit = unit
        q = self.controller.run.question
        self.graph.set_team(spec, q.options if q else (), q.answer if q else None)
        self.graph.hold = True
        self.table.show(self.controller.history[-1])

    def _swap_figures(self, spec: TeamSpec) -> None:
        work = spec.task.kind == "work_division"
        if work == isinstance(self.figures, WorkFigures):
            self.figures.reset(len(spec.agents), self._options_count(), **({"spec": spec} if work else {}))
            return
        self.figures = _figures_for(spec, self._options_count())
        self.figures.on_error(self.home.wrap(self.controller.report))
        self.plots_box.children = tuple(self.figures.views)

    def _options_count(self) -> int | None:
        q = self.controller.run.question
        return len(q.options) if q else None

    def _sync(self) -> None:
        ctl = self.controller
        past = self.controls.timeline.value != CURRENT
        self.controls.sync(ctl.state, ctl.run.done, ctl.playing, viewing_past=past, can_fork=ctl.can_fork or self._fork_round() == 0)
        self.controls.status.value = self._status_html()
        self.controls.note.value = escape(ctl.logging_note)

    def _status_html(self) -> str:
        ctl, last = self.controller, self.controller.history[-1]
        work = ctl.spec.task.kind == "work_division"
        done = ctl.run.done
        mark = "" if work and not done else {True: " ✓", False: " ✗"}.get(last.correct, "")
        word = "progress" if work else "decision"
        decision = f" · {word} <b>{escape(str(last.decision))}</b>{mark}" if last.decision else ""
        end = f" ({escape(ctl.run.end_reason)})" if done and ctl.run.end_reason else ""
        edited = (" · <span class='ltl-invalid-text'>spec edited — press Reset to run it (or Fork from here)</span>"
                  if self.builder.spec != ctl.spec else "")
        shown = self.view.shown(last.round)
        unit = "slice" if ctl.asynchronous else "round"
        where = "" if self.view.live else f" · <b class='ltl-warning'>viewing {unit} {shown}</b>"
        timeline = f" · {escape(ctl.label)}" if ctl.timelines else ""
        clock = f" · virtual time <b>t = {last.time:.3f} s</b>" if ctl.asynchronous else ""
        return (f"<span class='ltl-status-line' data-round='{last.round}' data-state='{ctl.state}' "
                f"data-shown='{shown}' data-live='{int(self.view.live)}' data-time='{last.time:.6f}'>"
                f"{unit} <b>{last.round}</b> of {ctl.spec.budgets.max_rounds}{clock} · {ctl.state}{end}{decision}"
                f"{where}{timeline}{edited}</span>")

    def _time_label(self, state: RoundState) -> str:
        """The scrubber's clock for an asynchronous team (its slices are virtual time)."""
        return f"t = {state.time:.3f} s" if self.controller.asynchronous else ""

    # --- presets, export and extra views ---------------------------------------------------------
    async def load_preset(self, key: str) -> None:
        """Load preset ``key`` (see ``llmteams_lab.spec.presets``): its spec and its explanation."""
        if key not in PRESETS:
            raise ArgumentError("preset", f"must be one of {sorted(PRESETS)}", key)
        preset = PRESETS[key]
        if self.controller.playing:
            self.controller.pause()
            await self.controller.wait()
        self.preset_info.value = (f"<div class='ltl-preset-info' data-preset='{key}'><b>{escape(preset.title)}</b>"
                                  f" — {escape(preset.explanation)}</div>")
        await self.controller.reset(preset.spec)

    def _export_source(self) -> tuple[list, TeamSpec, str, list]:
        ctl = self.controller
        return list(ctl.run.events), ctl.run_spec, ctl.run.run_id, list(self.figures.views)

    def add_view(self, factory: Callable[[LabController], Any]) -> None:
        """Offer an extra view beside the team graph (e.g. the space-time diagram):
        ``factory(controller)`` returns a widget for the current run, or ``None`` when the
        run does not offer that view; it is asked again at every reset."""
        self._views.append(factory)
        self._offer_views()

    def _spacetime_for(self, controller: LabController) -> SpacetimeView | None:
        """The built-in view: the live space-time diagram (asynchronous teams, by default)."""
        wanted = self._spacetime_choice if self._spacetime_choice is not None else controller.asynchronous
        if self.spacetime is not None:
            self.spacetime.active = bool(wanted)  # hidden: it stops following the run
        if not wanted:
            return None
        if self.spacetime is None:
            self.spacetime = SpacetimeView(controller)
        self.spacetime.refresh(force=True)
        return self.spacetime

    def _offer_views(self) -> None:
        shown = [v for v in (f(self.controller) for f in self._views) if v is not None]
        self.slot.children = tuple(shown)
        self.slot.layout.display = "" if shown else "none"

    # --- notebook API ------------------------------------------------------------------------
    @property
    def spec(self) -> TeamSpec:
        """The spec of the run on screen (the builder may hold an edited one)."""
        return self.controller.spec

    @property
    def history(self) -> list[RoundState]:
        return self.controller.history

    @property
    def events(self) -> pl.DataFrame:
        """Every event of the current run so far, as a polars frame."""
        return events_frame(self.controller.run.events)

    def summary(self) -> pl.DataFrame:
        """Per-round convergence and overhead of the current run."""
        return round_summary(self.events)

    async def step(self) -> RoundState:
        """Run one round (like clicking Step) and return the team's state after it."""
        self.back_to_live()
        await self.controller.step()
        return self.controller.history[-1]

    async def advance(self, happenings: int = 1) -> RoundState:
        """An asynchronous team: process only its next ``happenings`` happenings (like
        clicking "Happening"); the slice closes when its end is reached."""
        self.back_to_live()
        await self.controller.step(happenings)
        return self.controller.history[-1]

    async def run(self, rounds: int | None = None) -> RoundState:
        """Step to the end of the run (or ``rounds`` more rounds)."""
        self.back_to_live()
        return await self.controller.run_rounds(rounds)

    def play(self) -> asyncio.Task:
        """Start playing (like clicking Play); returns the task. ``lab.pause()`` stops it."""
        self.back_to_live()
        return self.controller.play()

    def pause(self) -> None:
        self.controller.pause()

    async def wait(self) -> None:
        """Wait until Play stops (the end of the run, Pause or an error)."""
        await self.controller.wait()

    async def aclose(self) -> None:
        """Done with the lab: stop Play and close the run's backends (an LLM team's HTTP
        clients). The widgets stay on the page as they were."""
        await self.controller.aclose()

    async def reset(self, spec: TeamSpec | None = None) -> None:
        """Rebuild the run from ``spec`` (default: the builder's current spec)."""
        await self.controller.reset(spec if spec is not None else self.builder.spec)

    def inject(self, fault: Any) -> None:
        """Inject a :class:`~llmteams_lab.spec.faults.FaultSpec` from the next round."""
        self.controller.inject(fault)

    def export_html(self, path: Any) -> Any:
        """Write the current run as a one-file HTML report (spec, rounds, plots, space-time
        diagram, fault schedule; opens offline) and return its path."""
        from llmteams_lab.export.report import run_report

        return run_report(self.events, path, spec=self.spec, title=f"Lab run {self.controller.run.run_id}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        ctl = self.controller
        return f"<Lab {ctl.spec.name}: {len(ctl.spec.agents)} agents, round {ctl.round}, {ctl.state}>"
