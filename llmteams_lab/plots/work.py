"""Work-division views: progress against the speedup bounds, and a Gantt of who did what.

``progress_figure`` plots tasks done per round — its slope is the team's speedup — beside
what a team *could* do: one agent (S = 1), Amdahl's reference model S(n) for the DAG's
parallel fraction, and the work/span bound min(n, W/C) no schedule can beat (W tasks,
C on the longest dependency chain). ``activity_figure`` is a Gantt chart: one row per
agent, one cell per round, coloured by what the agent did (working, completed a task,
blocked, failed its tests, idle), with the task it held on hover. Both read plain lists,
so the lab feeds them live and a lesson feeds them from a finished run's events.
"""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from llmteams_lab.plots.style import TASK_STATE_COLORS, base_layout, reference_line, series_style
from llmteams_lab.workloads.workdivision.dag import amdahl

__all__ = ["activity_figure", "progress_figure"]


def progress_figure(done: Sequence[int], *, agents: int, tasks: int, chain: int,
                    title: str = "Progress vs speedup bounds") -> go.Figure:
    """Cumulative tasks done after each round 1..len(done), against the bounds."""
    rounds = list(range(0, len(done) + 1))
    horizon = max(len(done), int(tasks // max(min(agents, tasks / max(chain, 1)), 1)) + 1, 1)
    xs = list(range(0, horizon + 1))
    p = (tasks - chain) / tasks if tasks else 0.0
    bound = min(agents, tasks / max(chain, 1))
    fig = go.Figure(layout=base_layout(title, hovermode="x"))
    for name, speed, key in ((f"work/span bound (S ≤ {bound:.2f})", bound, "bound"),
                             (f"Amdahl reference (S = {amdahl(p, agents):.2f})", amdahl(p, agents), "reference"),
                             ("one agent (S = 1)", 1.0, "serial")):
        fig.add_trace(go.Scatter(x=xs, y=[min(tasks, speed * r) for r in xs], name=name, mode="lines",
                                 **reference_line(key)))
    fig.add_trace(go.Scatter(x=rounds, y=[0, *done], name="tasks done", mode="lines+markers",
                             **series_style("tasks_done")))
    fig.update_layout(xaxis={"title": {"text": "round"}, "rangemode": "tozero"},
                      yaxis={"title": {"text": "tasks done"}, "range": [0, tasks * 1.05]})
    return fig


def activity_figure(cells: Sequence[tuple[int, str, str, str]], agents: Sequence[str], *,
                    title: str = "Who did what, round by round") -> go.Figure:
    """A Gantt chart of ``(round, agent, activity, task)`` cells, one row per agent."""
    fig = go.Figure(layout=base_layout(title, hovermode="closest", barmode="overlay"))
    for activity, colour in TASK_STATE_COLORS.items():
        mine = [c for c in cells if c[2] == activity]
        fig.add_trace(go.Bar(x=[1] * len(mine), base=[c[0] - 0.5 for c in mine], y=[c[1] for c in mine],
                             orientation="h", name=activity, marker={"color": colour, "line": {"width": 0}},
                             customdata=[[c[0], c[3] or "—"] for c in mine],
                             hovertemplate="%{y}, round %{customdata[0]}: " + activity + " %{customdata[1]}"
                                           "<extra></extra>"))
    fig.update_layout(xaxis={"title": {"text": "round"}, "rangemode": "tozero"},
                      yaxis={"title": {"text": "agent"}, "categoryorder": "array", "categoryarray": list(agents),
                             "autorange": "reversed"}, bargap=0.15)
    return fig
