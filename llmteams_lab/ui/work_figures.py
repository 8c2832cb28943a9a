"""The lab's live figures for work-division teams: progress vs bounds, and the Gantt chart.

Why other figures: a work team has no answer to agree on, so the convergence plot means
nothing there. Its questions are "how fast are we going, against what is possible?" and
"who is doing what?" — :func:`~llmteams_lab.plots.work.progress_figure` and
:func:`~llmteams_lab.plots.work.activity_figure`, fed round by round from the lab's
history (so a replay of one of the paper's runs gets the same views as a live team).
Same interface as :class:`~llmteams_lab.ui.figures.LiveFigures`.

Which teams: every team with a work DAG (``TaskSpec.work``, :func:`shows_work`) — a
work-division team, and an election team whose elected leader assigns the tasks
(``ElectionSpec.duty = "assign"``). The two tell their Gantt differently. A work-division
worker acts every round, so each round's state says what it did (``RoundState.activity``:
blocked on a lock, tests failed ...). A follower of an elected leader works silently
between the events that open and close its hold on a task (claimed when its assignment
commits, finished, completed when the completion commits, abandoned or re-assigned away
when its leader changes), so its Gantt is read from those events, as a lesson reads a
finished run: :class:`TaskSpans` keeps them round by round,
:func:`~llmteams_lab.plots.work.activity_cells` turns them into cells, and each
re-assignment (a leader took a task from a silent follower, or from itself on being
elected) is a star on the Gantt.
"""

from __future__ import annotations

from typing import Sequence

import polars as pl

from llmteams_lab.events import Event
from llmteams_lab.metrics import empty_frame, events_frame
from llmteams_lab.plots.work import (
    TASK_SPAN_KINDS,
    activity_cells,
    activity_figure,
    progress_figure,
    reassignments,
)
from llmteams_lab.spec import TeamSpec
from llmteams_lab.ui.figures import relabel_rounds
from llmteams_lab.ui.history import RoundState
from llmteams_lab.ui.plot_view import PlotView, figure_json
from llmteams_lab.workloads.workdivision.dag import critical_path

__all__ = ["TaskSpans", "WorkFigures", "shows_work"]

LAB_HEIGHT = 300
Cell = tuple[int, str, str, str]  # (round, agent, activity, task): one cell of the Gantt


def shows_work(spec: TeamSpec) -> bool:
    """Whether the lab shows ``spec``'s team as work — progress against the bounds and a
    Gantt chart — instead of a deliberation's convergence: any team with a work DAG."""
    return spec.task.work is not None


class TaskSpans:
    """The task events of a run so far (``plots.work.TASK_SPAN_KINDS``), kept as its rounds
    arrive, and the Gantt cells they make up to the latest round (:meth:`cells`)."""

    def __init__(self) -> None:
        self._frames: list[pl.DataFrame] = []
        self.last_round = 0

    def add(self, events: Sequence[Event], round: int | None = None) -> None:
        """Add round ``round``'s events (default: the latest round they carry)."""
        frame = events_frame(events)
        if round is None:
            round = int(frame["round"].max() or 0)
        self.last_round = max(self.last_round, round)
        spans = frame.filter(pl.col("kind").is_in(TASK_SPAN_KINDS))
        if spans.height:
            self._frames.append(spans)

    def truncate(self, k: int) -> None:
        """Keep rounds 0..k (a fork from round k)."""
        self._frames = [f for f in (f.filter(pl.col("round") <= k) for f in self._frames) if f.height]
        self.last_round = min(self.last_round, k)

    @property
    def events(self) -> pl.DataFrame:
        """The task events kept, in log order."""
        return pl.concat(self._frames) if self._frames else empty_frame()

    def cells(self) -> list[Cell]:
        """The Gantt's cells: who held which task, round by round, up to the latest round."""
        return activity_cells(self.events, last_round=self.last_round)

    def reassigned(self) -> list[tuple[int, str, str, str]]:
        """``(round, agent, task, from)`` of each re-assignment so far (``plots.work.reassignments``)."""
        return reassignments(self.events)


class WorkFigures:
    """Progress and Gantt for a work team of ``spec`` (``views``: the two plot widgets;
    ``cells``: the Gantt's cells so far)."""

    def __init__(self, spec: TeamSpec):
        self.progress = PlotView()
        self.activity = PlotView()
        self.unit = "round"  # the x axis counts these ("slice" for an asynchronous team: see the lab)
        self.reset_spec(spec)

    @property
    def views(self) -> list[PlotView]:
        return [self.progress, self.activity]

    def reset_spec(self, spec: TeamSpec) -> None:
        dag = spec.task.work.dag if spec.task.work is not None else ()
        self.agents = list(spec.ids)
        units = {t.id: t.work for t in dag}  # the bounds count work (rounds of one agent), not tasks
        self.tasks, self.work = max(len(dag), 1), max(sum(units.values()), 1)
        self.chain = max(sum(units[t] for t in critical_path(dag)) if dag else 1, 1)
        self.done: list[int] = []
        self._round_cells: list[Cell] = []  # a work-division team's, from each round's state
        # an elected leader's team's, from its task events (see the module docstring)
        self.spans = TaskSpans() if spec.task.kind != "work_division" else None
        self.marked: int | None = None
        self.redraw()

    def reset(self, n: int, options: int | None = None, spec: TeamSpec | None = None) -> None:
        if spec is not None:
            self.reset_spec(spec)

    def add_round(self, events: Sequence[Event], *, redraw: bool = True, state: RoundState | None = None) -> None:
        finished = sum(e.count for e in events if e.kind == "TaskCompleted")
        self.done.append((self.done[-1] if self.done else 0) + finished)
        if self.spans is not None:
            self.spans.add(events, state.round if state is not None else None)
        elif state is not None:
            activity = state.activity or ("idle",) * len(self.agents)
            self._round_cells += [(state.round, a, what, answer or "") for a, what, answer in
                                  zip(self.agents, activity, state.answers)]
        if redraw:
            self.redraw()

    def truncate(self, k: int) -> None:
        """Keep rounds 1..k (a fork from round k)."""
        self.done = self.done[:k]
        self._round_cells = [c for c in self._round_cells if c[0] <= k]
        if self.spans is not None:
            self.spans.truncate(k)

    @property
    def cells(self) -> list[Cell]:
        """The Gantt's cells so far: ``(round, agent, activity, task)``."""
        return self.spans.cells() if self.spans is not None else self._round_cells

    @property
    def reassigned(self) -> list[tuple[int, str, str, str]]:
        """Re-assignments so far, ``(round, agent, task, from)`` (none in a work-division team)."""
        return self.spans.reassigned() if self.spans is not None else []

    @property
    def rounds(self) -> list[int]:
        return list(range(1, len(self.done) + 1))

    def on_error(self, fn) -> None:
        self.progress.on_error(fn)
        self.activity.on_error(fn)

    def mark(self, round: int | None) -> None:
        if round != self.marked:
            self.marked = round
            self.redraw()

    def compare(self, label: str | None, other: "WorkFigures | None") -> None:
        return None  # forks of work teams compare through their own progress lines

    def redraw(self) -> None:
        shapes = [] if self.marked is None else [
            {"type": "line", "x0": self.marked, "x1": self.marked, "xref": "x", "yref": "paper", "y0": 0, "y1": 1,
             "line": {"color": "#D55E00", "width": 1.5, "dash": "dot"}}]
        for view, fig in ((self.progress, progress_figure(self.done, agents=len(self.agents), tasks=self.tasks,
                                                          chain=self.chain, work=self.work)),
                          (self.activity, activity_figure(self.cells, self.agents, reassigned=self.reassigned))):
            data = figure_json(fig)
            data["layout"]["height"] = LAB_HEIGHT
            data["layout"]["shapes"] = shapes
            if self.unit != "round":
                relabel_rounds(data["layout"], self.unit)
            view.update(data)
