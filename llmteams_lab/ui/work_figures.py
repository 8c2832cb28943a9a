"""The lab's live figures for work-division teams: progress vs bounds, and the Gantt chart.

Why other figures: a work team has no answer to agree on, so the convergence plot means
nothing there. Its questions are "how fast are we going, against what is possible?" and
"who is doing what?" — :func:`~llmteams_lab.plots.work.progress_figure` and
:func:`~llmteams_lab.plots.work.activity_figure`, fed round by round from the lab's
history (so a replay of one of the paper's runs gets the same views as a live team).
Same interface as :class:`~llmteams_lab.ui.figures.LiveFigures`.
"""

from __future__ import annotations

from typing import Sequence

from llmteams_lab.events import Event
from llmteams_lab.plots.work import activity_figure, progress_figure
from llmteams_lab.spec import TeamSpec
from llmteams_lab.ui.history import RoundState
from llmteams_lab.ui.plot_view import PlotView, figure_json
from llmteams_lab.workloads.workdivision.dag import critical_path

__all__ = ["WorkFigures"]

LAB_HEIGHT = 300


class WorkFigures:
    """Progress and Gantt for a work team of ``spec`` (``views``: the two plot widgets)."""

    def __init__(self, spec: TeamSpec):
        self.progress = PlotView()
        self.activity = PlotView()
        self.reset_spec(spec)

    @property
    def views(self) -> list[PlotView]:
        return [self.progress, self.activity]

    def reset_spec(self, spec: TeamSpec) -> None:
        dag = spec.task.work.dag if spec.task.work is not None else ()
        self.agents = list(spec.ids)
        self.tasks, self.chain = max(len(dag), 1), max(len(critical_path(dag)) if dag else 1, 1)
        self.done: list[int] = []
        self.cells: list[tuple[int, str, str, str]] = []
        self.marked: int | None = None
        self.redraw()

    def reset(self, n: int, options: int | None = None, spec: TeamSpec | None = None) -> None:
        if spec is not None:
            self.reset_spec(spec)

    def add_round(self, events: Sequence[Event], *, redraw: bool = True, state: RoundState | None = None) -> None:
        finished = sum(e.count for e in events if e.kind == "TaskCompleted")
        self.done.append((self.done[-1] if self.done else 0) + finished)
        if state is not None:
            activity = state.activity or ("idle",) * len(self.agents)
            self.cells += [(state.round, a, what, answer or "") for a, what, answer in
                           zip(self.agents, activity, state.answers)]
        if redraw:
            self.redraw()

    def truncate(self, k: int) -> None:
        """Keep rounds 1..k (a fork from round k)."""
        self.done = self.done[:k]
        self.cells = [c for c in self.cells if c[0] <= k]

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
                                                          chain=self.chain)),
                          (self.activity, activity_figure(self.cells, self.agents))):
            data = figure_json(fig)
            data["layout"]["height"] = LAB_HEIGHT
            data["layout"]["shapes"] = shapes
            view.update(data)
