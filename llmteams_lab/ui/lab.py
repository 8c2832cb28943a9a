"""``Lab(spec)``: the notebook lab — builder, team graph, controls, live plots, tables.

The Lab only composes widgets and wires them to one :class:`LabController`; it holds
no engine state itself. Every widget callback goes through :meth:`Lab._guard` or
:meth:`Lab._spawn`, so an exception raised in a callback or in a task it starts is
shown in the lab's error panel instead of vanishing into the kernel log.

From a notebook::

    lab = Lab(team(7, protocol="debate", seed=1)); lab      # display it
    await lab.step()            # or click Step;  lab.play() / lab.pause()
    await lab.run()             # to the end;     lab.events, lab.summary()
"""

from __future__ import annotations

import asyncio
import time
from html import escape
from typing import Any, Callable, Coroutine

import ipywidgets as w
import polars as pl

from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import DatasetError, LifecycleError
from llmteams_lab.metrics import events_frame, round_summary
from llmteams_lab.spec import TeamSpec, team
from llmteams_lab.ui._assets import asset
from llmteams_lab.ui.builder import TeamBuilder
from llmteams_lab.ui.controller import LabController
from llmteams_lab.ui.controls import Controls
from llmteams_lab.ui.errors import ErrorPanel
from llmteams_lab.ui.faults import FaultPanel
from llmteams_lab.ui.figures import LiveFigures
from llmteams_lab.ui.graph import TeamGraph
from llmteams_lab.ui.history import FaultNote, RoundState
from llmteams_lab.ui.tables import FaultLog, MessageTable

__all__ = ["Lab"]

MAX_AHEAD = 10  # rounds Play may run ahead of what the browser has drawn (see _pace)
PACE_TIMEOUT_S = 2.0  # then go on anyway (a closed tab never acknowledges)
# While playing, the plots are redrawn at most this often (every point still arrives):
# a plotly redraw of both figures costs the browser ~250 ms on a shared 2-core machine, ~5x a
# graph frame, so redrawing them every round would throttle the graph to ~3 frames/s.
PLOT_INTERVAL_S = 0.5


class Lab:
    """The lab for ``spec`` (default: 7 simulated agents debating on a complete graph).

    backends  passed to the engine (see :class:`LabController`)
    speed     Play's initial pace, rounds per second
    """

    def __init__(self, spec: TeamSpec | None = None, *, backends: Any = None, speed: float = 5.0,
                 run_factory: Callable[[TeamSpec], Any] | None = None):
        spec = spec if spec is not None else team(7, topology="complete", protocol="debate", seed=1)
        self.controller = LabController(spec, backends=backends, speed=speed, run_factory=run_factory)
        self.builder = TeamBuilder(spec)
        self.graph = TeamGraph()
        self.figures = LiveFigures(len(spec.agents), self._options_count())
        self.table = MessageTable()
        self.fault_log = FaultLog()
        self.errors = ErrorPanel()
        self.faults = FaultPanel(self.controller, self.controller.report)
        self.controls = Controls(speed)
        self._following = True
        self._quiet = False
        self._dirty = False
        self._ahead = 0
        self._plotted, self._plots_behind = 0.0, False
        self._notes_shown = 0
        self._set_team(spec)
        self.widget = self._compose()
        self._wire()
        self.controller.pace = self._pace
        self._sync()

    @classmethod
    def replay(cls, trace: ReplayRun, *, speed: float = 5.0) -> "Lab":
        """A lab stepping through a recorded run (ours or one of the paper's): Step, Play,
        the scrubber and the live plots work as on a live run; Reset starts the trace
        again. Faults need a live team: fork the replay (``trace.fork(k)``) first."""
        if trace.spec is None:
            raise DatasetError(f"trace {trace.run_id!r} records no spec this version can rebuild, so the lab "
                               "cannot draw its team; step it with `await trace.step()` instead")
        records, run_id, spec = trace.records, trace.run_id, trace.spec
        return cls(spec, speed=speed, run_factory=lambda _spec: ReplayRun(records, spec=spec, run_id=run_id))

    # --- composition ---------------------------------------------------------------------
    def _compose(self) -> w.VBox:
        style = w.HTML(f"<style>{asset('lab.css').read_text(encoding='utf-8')}</style>")
        title = w.HTML("<div class='ltl-lab-title'>llmteams lab</div>")
        builder = w.Accordion(children=[self.builder], titles=("Team builder",))
        builder.selected_index = None
        side = w.VBox([self.faults, self.fault_log], layout=w.Layout(width="330px"))
        graph_row = w.HBox([self.graph, side])
        plots = w.VBox([self.figures.convergence, self.figures.overhead])
        box = w.VBox([style, title, self.errors, builder, self.controls, graph_row, plots, self.table])
        box.add_class("ltl-lab")
        return box

    def _wire(self) -> None:
        c, ctl = self.controls, self.controller
        c.step.on_click(self._guard(lambda _: self._spawn(ctl.step())))
        c.play.on_click(self._guard(lambda _: ctl.pause() if ctl.playing else ctl.play()))
        c.reset.on_click(self._guard(lambda _: self._spawn(self.reset())))
        c.speed.observe(self._guard(lambda _: setattr(ctl, "speed", c.rounds_per_second)), "value")
        c.scrubber.observe(self._guard(self._scrubbed), "value")
        self.graph.observe(self._guard(lambda ch: self.faults.select(ch["new"])), "selected")
        self.builder.on_spec(lambda _spec: self._sync())
        ctl.subscribe("round", self._on_round)
        ctl.subscribe("state", self._on_state)
        self.graph.on_painted(self._guard(lambda: self._render()))
        ctl.subscribe("error", self._on_error)
        ctl.subscribe("reset", self._on_reset)
        ctl.subscribe("faults", self._on_fault)
        self.figures.on_error(self.controller.report)  # a plot that cannot be drawn is never silent

    def _guard(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """Wrap a widget callback so its exceptions are shown in the panel."""
        def handler(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as err:
                self.controller.report(err)
        return handler

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

    # --- controller events -----------------------------------------------------------------
    def _on_round(self, state: RoundState, events: list) -> None:
        """Record the round's points; show it now, or as soon as the browser has caught up."""
        self.figures.add_round(events, redraw=False)
        self._dirty = True
        self._ahead += 1
        self._render()

    async def _pace(self) -> None:
        """Hold Play while the browser is ``MAX_AHEAD`` rounds behind (bounded wait).

        Without it the kernel would out-run a busy browser on a shared machine: the
        updates it could not draw pile up, and Pause seems to take seconds to land.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PACE_TIMEOUT_S
        while self._ahead >= MAX_AHEAD and not self.graph.caught_up and loop.time() < deadline:
            await asyncio.sleep(0.002)

    def _render(self, *, force: bool = False) -> None:
        """Bring every view up to the latest round (see ``TeamGraph`` on flow control)."""
        if not self._dirty or not (force or self.graph.caught_up):
            return
        self._dirty = False
        self._ahead = 0
        state = self.controller.history[-1]
        now = time.monotonic()
        if force or not self.controller.playing or now - self._plotted >= PLOT_INTERVAL_S:
            self.figures.redraw()
            self._plotted, self._plots_behind = now, False
        else:
            self._plots_behind = True
        s = self.controls.scrubber
        self._quiet = True
        try:
            s.max = max(state.round, s.max)
            if self._following:
                s.value = state.round
        finally:
            self._quiet = False
        if len(self.controller.notes) != self._notes_shown:
            self._notes_shown = len(self.controller.notes)
            self.fault_log.show(self.controller.notes)
        self._sync()
        if self._following:  # last: the graph's paint acknowledges the whole frame
            self._show(state, animate=True)

    def _on_state(self, _state: str) -> None:
        self._sync()  # first: the user sees "idle" and a Play button at once
        if not self.controller.playing:
            if self._plots_behind:
                self._dirty = True
            self._render(force=True)  # a paused or finished lab shows its last round at once

    def _on_error(self, err: BaseException) -> None:
        self.errors.show(err)
        self._sync()

    def _on_reset(self, spec: TeamSpec) -> None:
        if spec != self.builder.spec:
            self.builder.load(spec)
        self.figures.reset(len(spec.agents), self._options_count())
        self._set_team(spec)
        self.fault_log.show(())
        self._notes_shown = 0
        self.faults.select({})
        self._quiet = True
        try:
            self.controls.scrubber.value = 0
            self.controls.scrubber.max = 0
        finally:
            self._quiet = False
        self._following = True
        self._dirty = False

    def _on_fault(self, note: FaultNote) -> None:
        self.fault_log.show(self.controller.notes)
        if note.agent in self.graph.agents and note.peer is None:
            marks = [list(m) for m in self.graph.faults]
            i = self.graph.agents.index(note.agent)
            marks[i] = sorted(set(marks[i]) | {note.fault})
            self.graph.faults = marks

    def _scrubbed(self, change: dict) -> None:
        if self._quiet:
            return
        r = change["new"]
        self._following = r >= self.controller.round
        self._show(self.controller.history[min(r, len(self.controller.history) - 1)], animate=True)

    def _show(self, state: RoundState, *, animate: bool) -> None:
        self.graph.show(state, animate=animate)
        self.table.show(state)
        self.figures.mark(None if self._following else state.round)

    def _set_team(self, spec: TeamSpec) -> None:
        q = self.controller.run.question
        self.graph.set_team(spec, q.options if q else (), q.answer if q else None)
        self.table.show(self.controller.history[-1])

    def _options_count(self) -> int | None:
        q = self.controller.run.question
        return len(q.options) if q else None

    def _sync(self) -> None:
        ctl = self.controller
        self.controls.sync(ctl.state, ctl.run.done, ctl.playing)
        self.controls.status.value = self._status_html()

    def _status_html(self) -> str:
        ctl, last = self.controller, self.controller.history[-1]
        mark = {True: " ✓", False: " ✗"}.get(last.correct, "") if last.decision else ""
        decision = f" · decision <b>{escape(str(last.decision))}</b>{mark}" if last.decision else ""
        end = f" ({escape(ctl.run.end_reason)})" if ctl.run.done and ctl.run.end_reason else ""
        edited = (" · <span class='ltl-invalid-text'>spec edited — press Reset to run it</span>"
                  if self.builder.spec != ctl.spec else "")
        return (f"<span class='ltl-status-line' data-round='{last.round}' data-state='{ctl.state}'>"
                f"round <b>{last.round}</b> of {ctl.spec.budgets.max_rounds} · {ctl.state}{end}{decision}"
                f"{edited}</span>")

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
        await self.controller.step()
        return self.controller.history[-1]

    async def run(self, rounds: int | None = None) -> RoundState:
        """Step to the end of the run (or ``rounds`` more rounds)."""
        return await self.controller.run_rounds(rounds)

    def play(self) -> asyncio.Task:
        """Start playing (like clicking Play); returns the task. ``lab.pause()`` stops it."""
        return self.controller.play()

    def pause(self) -> None:
        self.controller.pause()

    async def wait(self) -> None:
        """Wait until Play stops (the end of the run, Pause or an error)."""
        await self.controller.wait()

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
