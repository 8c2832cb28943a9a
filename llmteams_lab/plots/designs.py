"""Figures of a design sweep: the trade-off, robustness, scaling, and the baseline gain.

Each builder takes a table from ``metrics.designs`` (or the sweep table itself) and
returns a plotly figure; every rate is drawn with its interval, so a reader sees how
sure each point is:

* :func:`pareto_figure`      accuracy vs tokens (colour: clock seconds), the Pareto
                             front joined, the self-consistency baseline marked ◇
* :func:`robustness_figure`  accuracy vs a fault rate (or any grid column), one line
                             per design family, Wilson bands
* :func:`scaling_figure`     messages or tokens vs team size on log-log axes, with the
                             fitted ``c · n^b`` per group and its exponent in the legend
* :func:`gains_figure`       team accuracy minus the compute-matched baseline and minus
                             the best member, per design, with bootstrap intervals
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl

from llmteams_lab.errors import ArgumentError
from llmteams_lab.metrics.designs import label_columns, pareto_front, scaling_exponents
from llmteams_lab.plots._style import ANSWER_PALETTE, base_layout

__all__ = ["design_names", "gains_figure", "pareto_figure", "robustness_figure", "scaling_figure"]


def design_names(frame: pl.DataFrame) -> list[str]:
    """A short name per row from its grid columns: ``n=5 · topology.kind=star``."""
    labels = [c for c in label_columns(frame)]
    if not labels:
        return ["base design"] * frame.height
    return [" · ".join(f"{k}={row[k]}" for k in labels) for row in frame.select(labels).iter_rows(named=True)]


def pareto_figure(summary: pl.DataFrame, *, baseline: pl.DataFrame | None = None,
                  title: str = "Accuracy vs tokens (Pareto front)") -> go.Figure:
    """Designs of ``summary`` (``design_summary(table, arm="team")``); ``baseline``: the
    same for ``arm="self_consistency"``, drawn as open diamonds."""
    front = pareto_front(summary)
    names = design_names(front)
    fig = go.Figure(layout=base_layout(title, hovermode="closest", height=380))
    fig.add_trace(go.Scatter(
        x=front["tokens"].to_list(), y=front["accuracy"].to_list(), mode="markers", name="designs", text=names,
        error_y=_band(front, "accuracy"), error_x=_band(front, "tokens"),
        marker={"size": 10, "color": front["clock_s"].to_list(), "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": {"text": "clock s"}, "thickness": 12},
                "line": {"width": [2 if p else 0 for p in front["pareto"]], "color": "#000"}},
        hovertemplate="%{text}<br>accuracy %{y:.3f}<br>tokens %{x:,.0f}<extra></extra>"))
    on = front.filter(pl.col("pareto")).sort("tokens")
    fig.add_trace(go.Scatter(x=on["tokens"].to_list(), y=on["accuracy"].to_list(), mode="lines",
                             name="Pareto front", line={"color": "#000", "dash": "dot", "width": 1.5},
                             hoverinfo="skip"))
    if baseline is not None and baseline.height:
        fig.add_trace(go.Scatter(
            x=baseline["tokens"].to_list(), y=baseline["accuracy"].to_list(), mode="markers",
            name="self-consistency baseline", text=design_names(baseline), error_y=_band(baseline, "accuracy"),
            marker={"symbol": "diamond-open", "size": 11, "color": ANSWER_PALETTE[5], "line": {"width": 2}},
            hovertemplate="baseline of %{text}<br>accuracy %{y:.3f}<br>tokens %{x:,.0f}<extra></extra>"))
    fig.update_layout(xaxis={"title": {"text": "tokens per run (mean)"}, "type": "log"},
                      yaxis={"title": {"text": "accuracy (share of runs right)"}, "range": [-0.02, 1.02]})
    return fig


def robustness_figure(summary: pl.DataFrame, x: str, by: str | None = None, *,
                      title: str = "") -> go.Figure:
    """Accuracy (Wilson band) against ``x`` — e.g. ``faults[0].probability`` — per ``by``."""
    _need(summary, x, by)
    fig = go.Figure(layout=base_layout(title or f"Accuracy vs {x}", hovermode="closest"))
    for i, part in enumerate(summary.partition_by(by, maintain_order=True) if by else [summary]):
        part = part.sort(x)
        color = ANSWER_PALETTE[i % len(ANSWER_PALETTE)]
        name = f"{by}={part[by][0]}" if by else "accuracy"
        xs = part[x].to_list()
        band = part["accuracy_high"].to_list() + part["accuracy_low"].to_list()[::-1]
        fig.add_trace(go.Scatter(x=xs + xs[::-1], y=band,
                                 fill="toself", fillcolor=_alpha(color), line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, name=f"{name} 95% CI"))
        fig.add_trace(go.Scatter(x=xs, y=part["accuracy"].to_list(), mode="lines+markers", name=name,
                                 line={"color": color}, marker={"color": color}))
    fig.update_layout(xaxis={"title": {"text": x}}, yaxis={"title": {"text": "accuracy"}, "range": [-0.02, 1.02]})
    return fig


def scaling_figure(table: pl.DataFrame, x: str = "n", y: str = "messages", by: str | None = None, *,
                   title: str = "") -> go.Figure:
    """Mean ``y`` per ``x`` on log-log axes with the fitted power law per ``by``."""
    _need(table, x, by)
    fits = scaling_exponents(table, x, y, by)
    rows = table.filter(pl.col("arm") == "team") if "arm" in table.columns else table
    means = rows.group_by([c for c in (by, x) if c]).agg(pl.col(y).cast(pl.Float64).mean()).sort(x)
    fig = go.Figure(layout=base_layout(title or f"{y} vs {x} (log-log)", hovermode="closest"))
    for i, part in enumerate(means.partition_by(by, maintain_order=True) if by else [means]):
        color = ANSWER_PALETTE[i % len(ANSWER_PALETTE)]
        key = part[by][0] if by else None
        fit = fits.filter(pl.col(by) == key) if by else fits
        label = f"{by}={key}" if by else y
        fig.add_trace(go.Scatter(x=part[x].to_list(), y=part[y].to_list(), mode="markers", name=label,
                                 marker={"color": color, "size": 8}))
        if fit.height:
            b, c = fit["exponent"][0], fit["factor"][0]
            xs = np.geomspace(float(part[x].min()), float(part[x].max()), 30)
            fig.add_trace(go.Scatter(x=xs.tolist(), y=(c * xs ** b).tolist(), mode="lines",
                                     name=f"{label}: ∝ {x}^{b:.2f}", line={"color": color, "dash": "dash"}))
    fig.update_layout(xaxis={"title": {"text": x}, "type": "log"}, yaxis={"title": {"text": y}, "type": "log"})
    return fig


def gains_figure(gains: pl.DataFrame, *, title: str = "Team accuracy minus baselines (95% CI)") -> go.Figure:
    """Bars of ``gain_vs_self_consistency`` and ``gain_vs_best_member`` per design."""
    names = design_names(gains)
    fig = go.Figure(layout=base_layout(title, hovermode="closest", barmode="group"))
    for i, (column, label) in enumerate((("gain_vs_self_consistency", "vs self-consistency (same tokens)"),
                                         ("gain_vs_best_member", "vs best single member"))):
        mean, low, high = gains[column], gains[f"{column}_low"], gains[f"{column}_high"]
        fig.add_trace(go.Bar(x=names, y=mean.to_list(), name=label, marker={"color": ANSWER_PALETTE[i]},
                             error_y={"type": "data", "array": (high - mean).to_list(),
                                      "arrayminus": (mean - low).to_list(), "visible": True}))
    fig.add_hline(y=0, line={"color": "#555", "width": 1})
    fig.update_layout(yaxis={"title": {"text": "accuracy difference"}})
    return fig


def _band(frame: pl.DataFrame, column: str) -> dict[str, Any]:
    mean = frame[column]
    return {"type": "data", "array": (frame[f"{column}_high"] - mean).to_list(),
            "arrayminus": (mean - frame[f"{column}_low"]).to_list(), "visible": True, "thickness": 1}


def _need(frame: pl.DataFrame, *columns: str | None) -> None:
    for column in columns:
        if column is not None and column not in frame.columns:
            raise ArgumentError("column", f"must be a column of the table {frame.columns}", column)


def _alpha(hex_color: str, alpha: float = 0.18) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
