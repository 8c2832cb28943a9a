"""Consensus convergence per round: agreement, entropy, individual and team accuracy.

Input is the frame of :func:`llmteams_lab.metrics.convergence` (one row per run and
round). Several runs in one frame (a sweep, repeated seeds) are averaged per round, so
"team accuracy" becomes the share of runs whose decision was right after that round —
the curve the jury theorem is about. One run gives its own 0/1 team correctness.

:func:`convergence_series` is the data half, shared with the live FigureWidget in the
lab, which re-assigns exactly these arrays as rounds arrive.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import polars as pl

from llmteams_lab.plots.style import base_layout, nice_ticks, series_style

__all__ = ["CONVERGENCE_TRACES", "convergence_figure", "convergence_series", "round_dtick"]

# (series key, legend name, y-axis) in trace order; entropy (bits) has its own axis.
CONVERGENCE_TRACES: tuple[tuple[str, str, str], ...] = (
    ("agreement", "agreement", "y"),
    ("accuracy", "individual accuracy", "y"),
    ("team_accuracy", "team accuracy", "y"),
    ("entropy", "entropy (bits)", "y2"),
)


def convergence_series(conv: pl.DataFrame) -> dict[str, tuple[list[int], list[float | None]]]:
    """``{key: (rounds, values)}`` for every trace in :data:`CONVERGENCE_TRACES`."""
    if conv.is_empty():
        return {key: ([], []) for key, _, _ in CONVERGENCE_TRACES}
    per = (
        conv.group_by("round")
        .agg(
            pl.col("agreement").mean(),
            pl.col("accuracy").mean(),
            pl.col("team_correct").cast(pl.Float64).mean().alias("team_accuracy"),
            pl.col("entropy").mean(),
        )
        .sort("round")
    )
    rounds = per["round"].to_list()
    return {key: (rounds, per[key].to_list()) for key, _, _ in CONVERGENCE_TRACES}


def round_dtick(rounds: list[int]) -> int:
    """Tick spacing for a round axis: whole rounds, at most ~10 ticks."""
    return max(1, math.ceil(max(rounds, default=1) / 10))


def convergence_figure(conv: pl.DataFrame, *, options: int | None = None,
                       title: str = "Consensus convergence") -> go.Figure:
    """The convergence figure of ``conv``; ``options`` (k) fixes the entropy axis at log2 k."""
    fig = go.Figure(layout=base_layout(title))
    series = convergence_series(conv)
    for key, name, axis in CONVERGENCE_TRACES:
        x, y = series[key]
        mode = "markers" if key == "team_accuracy" else "lines+markers"
        fig.add_trace(go.Scatter(x=x, y=y, name=name, yaxis=axis, mode=mode, **series_style(key)))
    # both axes get the same padding, so 0 and 1 (0 and log2 k bits) sit at the same heights
    top = math.log2(options) if options and options > 1 else None
    pad = 0.04
    fig.update_layout(
        xaxis={"title": {"text": "round"}, "rangemode": "tozero", "dtick": round_dtick(series["agreement"][0])},
        yaxis={"title": {"text": "share of agents"}, "range": [-pad, 1 + pad], "tickvals": nice_ticks(0, 1)},
        yaxis2={"title": {"text": "entropy (bits)"}, "overlaying": "y", "side": "right", "showgrid": False,
                "range": [-pad * top, (1 + pad) * top] if top else None, "rangemode": "tozero",
                **({"tickvals": nice_ticks(0, top, 4)} if top else {"tickmode": "auto", "nticks": 5})},
    )
    return fig
