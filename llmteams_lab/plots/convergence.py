"""Consensus convergence per round: agreement, entropy, individual and team accuracy.

Input is the frame of :func:`llmteams_lab.metrics.convergence` (one row per run and
round). Several runs in one frame (a sweep, repeated seeds) are averaged per round over
*every* run: a run that ended earlier (a debate stopping at consensus) keeps its final
state — its agreement, accuracy and decision stand — in the later rounds. Averaging only
the runs still going would be survivorship bias: the late rounds would describe the few
runs that had not converged (one run at the last point). "Team accuracy" is then the
share of runs whose decision was right after that round (a run without a decision yet
counts as not right) — the curve the jury theorem is about. One run gives its own 0/1
team correctness, with a gap while it has no decision. Agreement and individual accuracy
are shares of a run's live agents (``metrics.consensus``); team accuracy a share of runs.

:func:`convergence_series` is the data half, shared with the live FigureWidget in the
lab, which re-assigns exactly these arrays as rounds arrive.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
import polars as pl

from llmteams_lab.plots.style import base_layout, nice_ticks, series_style

__all__ = ["CONVERGENCE_TRACES", "carry_final_state", "convergence_figure", "convergence_series", "round_dtick"]

# (series key, legend name, y-axis) in trace order; entropy (bits) has its own axis.
CONVERGENCE_TRACES: tuple[tuple[str, str, str], ...] = (
    ("agreement", "agreement (share of agents)", "y"),
    ("accuracy", "individual accuracy (share of agents)", "y"),
    ("team_accuracy", "team accuracy (share of runs)", "y"),
    ("entropy", "entropy (bits)", "y2"),
)


def convergence_series(conv: pl.DataFrame) -> dict[str, tuple[list[int], list[float | None]]]:
    """``{key: (rounds, values)}`` for every trace in :data:`CONVERGENCE_TRACES`."""
    if conv.is_empty():
        return {key: ([], []) for key, _, _ in CONVERGENCE_TRACES}
    several = conv["run_id"].n_unique() > 1
    rows = carry_final_state(conv) if several else conv
    team = pl.col("team_correct").fill_null(False) if several else pl.col("team_correct")
    per = (
        rows.group_by("round")
        .agg(
            pl.col("agreement").mean(),
            pl.col("accuracy").mean(),
            team.cast(pl.Float64).mean().alias("team_accuracy"),
            pl.col("entropy").mean(),
        )
        .sort("round")
    )
    rounds = per["round"].to_list()
    return {key: (rounds, per[key].to_list()) for key, _, _ in CONVERGENCE_TRACES}


def carry_final_state(conv: pl.DataFrame) -> pl.DataFrame:
    """``conv`` with every run extended to the last round of any run, each added round a
    copy of the run's final row (see the module docstring: no survivorship bias)."""
    last = conv["round"].max()
    final = conv.sort("round").group_by("run_id").last()
    extra = final.select("run_id", ended=pl.col("round")).join(
        pl.DataFrame({"round": list(range(conv["round"].min(), last + 1))}), how="cross").filter(
        pl.col("round") > pl.col("ended"))
    carried = extra.join(final.drop("round"), on="run_id").select(conv.columns)
    return pl.concat([conv, carried]).sort("run_id", "round")


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
        yaxis={"title": {"text": "share (agents; runs for team accuracy)"}, "range": [-pad, 1 + pad],
               "tickvals": nice_ticks(0, 1)},
        yaxis2={"title": {"text": "entropy (bits)"}, "overlaying": "y", "side": "right", "showgrid": False,
                "range": [-pad * top, (1 + pad) * top] if top else None, "rangemode": "tozero",
                **({"tickvals": nice_ticks(0, top, 4)} if top else {"tickmode": "auto", "nticks": 5})},
    )
    return fig
