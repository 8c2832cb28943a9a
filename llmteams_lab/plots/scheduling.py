"""Scheduling and speculation figures: policies against the bound, backups against their price.

* :func:`policy_figure` — one bar per scheduling design (``metrics.policy_bounds``), its
  makespan, with the critical-path bound and the work bound drawn across: no bar can end
  before the larger of the two, so the gap to it is what a better schedule could still win;
* :func:`speculation_figure` — makespan (left axis) and tokens (right axis) against the
  speculation threshold ``backup_after``, averaged over seeds with standard-error bars;
  runs without speculation (``backup_after`` null) are drawn as dashed reference lines,
  so a reader sees at a glance which thresholds pay for their tokens.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from llmteams_lab.errors import SpecError
from llmteams_lab.plots._style import ANSWER_PALETTE, METRIC_COLORS, base_layout

__all__ = ["policy_figure", "speculation_figure"]


def policy_figure(frame: pl.DataFrame, *, title: str = "", unit: str = "rounds") -> go.Figure:
    """Makespan per (assignment, policy) beside the two bounds (see the module docstring)."""
    _need(frame, ("assignment", "policy", "makespan", "critical_path_bound", "work_bound"))
    labels = [f"{a} · {p}" for a, p in zip(frame["assignment"], frame["policy"])]
    fig = go.Figure(layout=base_layout(title or "Makespan by scheduling policy", hovermode="closest",
                                       height=max(260, 34 * frame.height + 110)))
    fig.add_trace(go.Bar(x=frame["makespan"].to_list(), y=labels, orientation="h", name="makespan",
                         marker={"color": ANSWER_PALETTE[0]}, text=[f"{m:.3g}" for m in frame["makespan"]],
                         textposition="outside"))
    for column, name, dash, color in (("critical_path_bound", "critical-path bound", "dash", METRIC_COLORS["ref_n2"]),
                                      ("work_bound", "work bound", "dot", METRIC_COLORS["ref_n"])):
        value = float(frame[column][0])
        fig.add_trace(go.Scatter(x=[value, value], y=[labels[0], labels[-1]], mode="lines", name=f"{name} ({value:.3g})",
                                 line={"dash": dash, "color": color, "width": 2}))
    fig.update_layout(xaxis={"title": {"text": f"makespan ({unit})"}, "rangemode": "tozero"},
                      yaxis={"autorange": "reversed"})
    return fig


def speculation_figure(frame: pl.DataFrame, *, x: str = "backup_after", title: str = "") -> go.Figure:
    """Mean makespan and tokens per threshold, with the no-speculation runs as references."""
    _need(frame, (x, "makespan_s", "tokens"))
    stats = (frame.filter(pl.col(x).is_not_null()).group_by(x)
             .agg(*[e for c in ("makespan_s", "tokens") for e in _mean_sem(c)]).sort(x))
    off = frame.filter(pl.col(x).is_null())
    fig = go.Figure(layout=base_layout(title or "Speculative execution: makespan and tokens by threshold",
                                       hovermode="closest"))
    for column, axis, color, name in (("makespan_s", "y", METRIC_COLORS["agreement"], "makespan (s)"),
                                      ("tokens", "y2", METRIC_COLORS["tokens"], "tokens")):
        fig.add_trace(go.Scatter(x=stats[x].to_list(), y=stats[f"{column}_mean"].to_list(), name=name, yaxis=axis,
                                 mode="lines+markers", line={"color": color}, marker={"color": color},
                                 error_y={"type": "data", "array": stats[f"{column}_sem"].to_list(), "visible": True}))
        if off.height and stats.height:
            level = float(off[column].cast(pl.Float64).mean())
            fig.add_trace(go.Scatter(x=[stats[x].min(), stats[x].max()], y=[level, level], yaxis=axis, mode="lines",
                                     name=f"{name}, no backups", line={"color": color, "dash": "dash"}))
    fig.update_layout(xaxis={"title": {"text": f"{x} (× a task's expected time)"}, "type": "log"},
                      yaxis={"title": {"text": "makespan (s)"}, "rangemode": "tozero"},
                      yaxis2={"title": {"text": "tokens"}, "overlaying": "y", "side": "right", "rangemode": "tozero",
                              "showgrid": False})
    return fig


def _mean_sem(column: str) -> list[pl.Expr]:
    value = pl.col(column).cast(pl.Float64)
    return [value.mean().alias(f"{column}_mean"), (value.std() / pl.len().sqrt()).fill_null(0.0).alias(f"{column}_sem")]


def _need(frame: pl.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SpecError("frame", f"must have the columns {list(columns)}; missing {missing}", sorted(frame.columns))
