"""Work-division views: progress against the speedup bounds, and a Gantt of who did what.

``progress_figure`` plots tasks done per round — its slope is the team's speedup — beside
what a team *could* do: one agent (S = 1), Amdahl's reference model S(n) for the DAG's
parallel fraction, and the work/span bound min(n, W/C) no schedule can beat (W tasks,
C on the longest dependency chain). ``activity_figure`` is a Gantt chart: one row per
agent, one cell per round, coloured by what the agent did (working, completed a task,
blocked, failed its tests, idle), with the task it held on hover, and a star where an
elected leader re-assigned a task (:func:`reassignments`). Both read plain lists, so the
lab feeds them live and a lesson feeds them from a finished run's events —
:func:`activity_cells` turns a run's task events into the Gantt's cells.
"""

from __future__ import annotations

from typing import Sequence

import json

import plotly.graph_objects as go
import polars as pl

from llmteams_lab.plots.style import OKABE_ITO, TASK_STATE_COLORS, base_layout, reference_line, series_style
from llmteams_lab.workloads.workdivision.dag import amdahl

__all__ = ["TASK_SPAN_KINDS", "activity_cells", "activity_figure", "progress_figure", "reassignments"]

# the events that open and close an agent's hold on a task (all that activity_cells reads)
TASK_SPAN_KINDS = ("TaskClaimed", "TaskFinished", "TaskCompleted", "TaskAbandoned", "TaskReassigned")


def progress_figure(done: Sequence[int], *, agents: int, tasks: int, chain: float, work: float | None = None,
                    title: str = "Progress vs speedup bounds") -> go.Figure:
    """Cumulative tasks done after each round 1..len(done), against the bounds.

    ``chain``: the work on the DAG's longest dependency chain C, and ``work`` its total
    work W (default: ``tasks``, unit tasks), both in rounds of one agent's work. A speedup
    S is W units done in W/S rounds, so its line rises by S·tasks/W tasks a round — with
    tasks of several units, one agent finishes fewer than one task a round."""
    work = float(tasks if work is None else work)
    rounds = list(range(0, len(done) + 1))
    p = (work - chain) / work if work else 0.0
    bound = min(agents, work / max(chain, 1))
    per_round = tasks / work if work else 0.0  # tasks a round at S = 1, on average
    horizon = max(len(done), int(work // max(bound, 1)) + 1, 1)
    xs = list(range(0, horizon + 1))
    fig = go.Figure(layout=base_layout(title, hovermode="x"))
    for name, speed, key in ((f"work/span bound (S ≤ {bound:.2f})", bound, "bound"),
                             (f"Amdahl reference (S = {amdahl(p, agents):.2f})", amdahl(p, agents), "reference"),
                             ("one agent (S = 1)", 1.0, "serial")):
        fig.add_trace(go.Scatter(x=xs, y=[min(tasks, speed * per_round * r) for r in xs], name=name, mode="lines",
                                 **reference_line(key)))
    fig.add_trace(go.Scatter(x=rounds, y=[0, *done], name="tasks done", mode="lines+markers",
                             **series_style("tasks_done")))
    fig.update_layout(xaxis={"title": {"text": "round"}, "rangemode": "tozero"},
                      yaxis={"title": {"text": "tasks done"}, "range": [0, tasks * 1.05]})
    return fig


def activity_figure(cells: Sequence[tuple[int, str, str, str]], agents: Sequence[str], *,
                    title: str = "Who did what, round by round",
                    reassigned: Sequence[tuple[int, str, str, str]] = ()) -> go.Figure:
    """A Gantt chart of ``(round, agent, activity, task)`` cells, one row per agent; each
    ``(round, agent, task, from)`` of ``reassigned`` is a star on the row of the agent
    the task went to."""
    fig = go.Figure(layout=base_layout(title, hovermode="closest", barmode="overlay"))
    for activity, colour in TASK_STATE_COLORS.items():
        mine = [c for c in cells if c[2] == activity]
        fig.add_trace(go.Bar(x=[1] * len(mine), base=[c[0] - 0.5 for c in mine], y=[c[1] for c in mine],
                             orientation="h", name=activity, marker={"color": colour, "line": {"width": 0}},
                             customdata=[[c[0], c[3] or "—"] for c in mine],
                             hovertemplate="%{y}, round %{customdata[0]}: " + activity + " %{customdata[1]}"
                                           "<extra></extra>"))
    if reassigned:
        fig.add_trace(go.Scatter(x=[r[0] for r in reassigned], y=[r[1] for r in reassigned], mode="markers",
                                 name="re-assigned", customdata=[[r[2], r[3] or "—"] for r in reassigned],
                                 marker={"symbol": "star", "size": 13, "color": OKABE_ITO["black"],
                                         "line": {"width": 1, "color": "#ffffff"}},
                                 hovertemplate="round %{x}: %{customdata[0]} re-assigned from %{customdata[1]} to "
                                               "%{y}<extra></extra>"))
    fig.update_layout(xaxis={"title": {"text": "round"}, "rangemode": "tozero"},
                      yaxis={"title": {"text": "agent"}, "categoryorder": "array", "categoryarray": list(agents),
                             "autorange": "reversed"}, bargap=0.15)
    return fig


def activity_cells(events: pl.DataFrame, *, last_round: int | None = None) -> list[tuple[int, str, str, str]]:
    """The Gantt cells of one run's events: an agent holds a task (``working``) from the
    round it claimed it (``TaskClaimed``) and shows ``completed`` in the round of the
    task's ``TaskCompleted`` by it; in an elected leader's team the agent is ``blocked``
    from its ``TaskFinished`` until the completion is committed. Its work shows
    ``failed`` — lost — in the round it stops without completing: it claims another
    task, abandons it (``TaskAbandoned``) or the task is re-assigned away from it
    (``TaskReassigned``). A claim still open at the end runs to the run's last round
    (``last_round``, default: the last round in ``events``; give it when ``events`` holds
    only the task events, :data:`TASK_SPAN_KINDS`, as the lab keeps them)."""
    rows = events.filter(pl.col("kind").is_in(TASK_SPAN_KINDS)).sort("seq")
    held: dict[str, list] = {}  # agent -> [task, round it was claimed, round it finished or None]
    cells: list[tuple[int, str, str, str]] = []

    def close(agent: str, round: int, how: str) -> None:
        task, start, finished = held.pop(agent)
        stop = round if finished is None else min(finished, round)
        cells.extend((k, agent, "working", task) for k in range(start, stop))
        cells.extend((k, agent, "blocked", task) for k in range(stop, round))
        cells.append((round, agent, how, task))

    for e in rows.iter_rows(named=True):
        kind, agent, task, r = e["kind"], e["agent"], e["value"], e["round"]
        if kind == "TaskReassigned":
            agent = json.loads(e["detail"] or "{}").get("from")
        if agent not in held:
            if kind == "TaskClaimed":
                held[agent] = [task, r, None]
            continue
        if kind == "TaskFinished" and held[agent][0] == task:
            held[agent][2] = r
        elif kind == "TaskCompleted" and held[agent][0] == task:
            close(agent, r, "completed")
        elif kind == "TaskClaimed" or held[agent][0] == task:
            close(agent, r, "failed")
            if kind == "TaskClaimed":
                held[agent] = [task, r, None]
    end = int(events["round"].max() or 0) if last_round is None else last_round
    for agent in sorted(held):
        task, start, finished = held.pop(agent)
        stop = end + 1 if finished is None else finished
        cells.extend((k, agent, "working", task) for k in range(start, stop))
        cells.extend((k, agent, "blocked", task) for k in range(stop, end + 1))
    return sorted(cells)


def reassignments(events: pl.DataFrame) -> list[tuple[int, str, str, str]]:
    """``(round, agent, task, from)`` of each committed re-assignment in a run's events
    (``TaskReassigned``, logged when an elected leader's re-assignment commits): ``task``
    went from ``from`` — silent for an election timeout, or now leading — to ``agent``."""
    rows = events.filter(pl.col("kind") == "TaskReassigned").sort("seq")
    return [(r, to, task, json.loads(detail or "{}").get("from") or "")
            for r, to, task, detail in rows.select("round", "peer", "value", "detail").iter_rows()]
