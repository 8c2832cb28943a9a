"""``Lab(spec)``: the notebook lab — builder, team graph, controls, live plots, tables.

The Lab only composes widgets and wires them to one :class:`LabController`; it holds
no engine state itself. Every widget callback goes through :meth:`Lab._guard` or
:meth:`Lab._spawn`, so an exception raised in a callback or in a task it starts is
shown in the lab's error panel instead of vanishing into the kernel log. What the views
show — the live round or a past one — and what is waiting to be drawn is one small
:class:`~llmteams_lab.ui.view_state.ViewState`. Its other parts have modules of their
own: bringing the views up to date without flooding the browser
(:mod:`~llmteams_lab.ui.rendering`), the scrubber, timelines and forks
(:mod:`~llmteams_lab.ui.time_travel`), the status line (:mod:`~llmteams_lab.ui.status`)
and the views a run may offer beside the graph (:mod:`~llmteams_lab.ui.extra_views`).

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
from html import escape
from typing import Any, Callable, Coroutine

import ipywidgets as w
import polars as pl

from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import ArgumentError, DatasetError, LifecycleError
from llmteams_lab.metrics import events_frame, round_summary
from llmteams_lab.spec import TeamSpec, team
from llmteams_lab.spec.presets import PRESETS
from llmteams_lab.ui import rendering
from llmteams_lab.ui.builder import TeamBuilder
from llmteams_lab.ui.controller import LabController
from llmteams_lab.ui.controls import Controls
from llmteams_lab.ui.errors import ErrorPanel
from llmteams_lab.ui.export import ExportPanel
from llmteams_lab.ui.extra_views import ViewSlot
from llmteams_lab.ui.faults import FaultLog, FaultPanel
from llmteams_lab.ui.figures import LiveFigures
from llmteams_lab.ui.graph import TeamGraph
from llmteams_lab.ui.history import RoundState
from llmteams_lab.ui.home import HomeLoop
from llmteams_lab.ui.layout import compose
from llmteams_lab.ui.rendering import Rendering
from llmteams_lab.ui.spacetime_view import SpacetimeView
from llmteams_lab.ui.status import time_label
from llmteams_lab.ui.tables import MessageTable, message_html
from llmteams_lab.ui.time_travel import TimeTravel
from llmteams_lab.ui.view_state import ViewState
from llmteams_lab.ui.work_figures import WorkFigures, shows_work

__all__ = ["Lab"]


def _figures_for(spec: TeamSpec, options: int | None) -> LiveFigures | WorkFigures:
    """The live plots of ``spec``'s team: a team with work (a work-division team, or an
    elected leader's that assigns tasks) gets progress and Gantt, others convergence."""
    return WorkFigures(spec) if shows_work(spec) else LiveFigures(len(spec.agents), options)


class Lab(Rendering, TimeTravel):
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
        self.view = ViewState(plot_interval=rendering.PLOT_INTERVAL_S)
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
        self.extra_views = ViewSlot(spacetime)  # the space-time diagram, when a run offers one
        self.slot = self.extra_views.widget
        self._partial: list = []  # events of an asynchronous slice advanced in parts (not yet plotted)
        self._notes_shown = -1
        self._set_team(spec)
        self.widget = compose(self)
        self.extra_views.offer(self.controller)
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

    # --- a new run, and what the user clicks -----------------------------------------------
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
            s.value, s.max, s.live, s.time_label = 0, 0, True, time_label(self.controller, self.controller.history[-1])
        self.extra_views.offer(self.controller)
        self._sync()

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
        if self.figures.unit != unit:
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
        work = shows_work(spec)
        if work == isinstance(self.figures, WorkFigures):
            self.figures.reset(len(spec.agents), self._options_count(), **({"spec": spec} if work else {}))
            return
        self.figures = _figures_for(spec, self._options_count())
        self.figures.on_error(self.home.wrap(self.controller.report))
        self.plots_box.children = tuple(self.figures.views)

    def _options_count(self) -> int | None:
        q = self.controller.run.question
        return len(q.options) if q else None

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
        self.extra_views.add(factory, self.controller)

    @property
    def spacetime(self) -> SpacetimeView | None:
        """The live space-time diagram, once shown (see ``spacetime``)."""
        return self.extra_views.spacetime

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
