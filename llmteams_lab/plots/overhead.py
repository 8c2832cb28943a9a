"""Communication overhead per round and cumulative, against O(n) and O(n²) references.

Input is the frame of :func:`llmteams_lab.metrics.overhead`. Only the per-round
columns are read and the cumulative sums are recomputed here, so the live lab can feed
one round at a time. Several runs in one frame are averaged per round over *every* run: a
run that has ended sends nothing, so it counts with 0 messages and 0 tokens in the later
rounds — each point is the mean run's traffic in that round, and the cumulative curve is
the mean run's whole bill (averaging only the runs still going would inflate the late
rounds and the cumulative sums alike: survivorship bias). The references describe a
team that is still talking, so they are drawn only over the rounds in which every run was.

Reference curves for a team of n agents, per round: O(n) is 2(n − 1) messages (a star:
everyone reports to a hub and hears back) and O(n²) is n(n − 1) (all-to-all, a complete
graph); cumulative references are r times those. Where a team's curve sits between
them shows how its bill scales with team size.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from llmteams_lab.plots.style import base_layout, reference_line, series_style
from llmteams_lab.plots.convergence import round_dtick

__all__ = ["OVERHEAD_TRACES", "overhead_figure", "overhead_series", "reference_messages"]

# (series key, legend name, subplot row, secondary y) in trace order.
OVERHEAD_TRACES: tuple[tuple[str, str, int, bool], ...] = (
    ("messages", "messages / round", 1, False),
    ("tokens", "tokens / round", 1, True),
    ("ref_n", "O(n): 2(n−1)", 1, False),
    ("ref_n2", "O(n²): n(n−1)", 1, False),
    ("cum_messages", "messages, cumulative", 2, False),
    ("cum_tokens", "tokens, cumulative", 2, True),
    ("cum_ref_n", "O(n) cumulative", 2, False),
    ("cum_ref_n2", "O(n²) cumulative", 2, False),
)


def reference_messages(n: int) -> tuple[int, int]:
    """Messages per round of an O(n) team (a star) and an O(n²) team (complete graph)."""
    return 2 * max(n - 1, 0), n * max(n - 1, 0)


def overhead_series(ov: pl.DataFrame, n: int | None = None) -> dict[str, tuple[list[int], list[float]]]:
    """``{key: (rounds, values)}`` for every trace in :data:`OVERHEAD_TRACES`.

    Without ``n`` the reference curves are empty.
    """
    if ov.is_empty():
        return {key: ([], []) for key, *_ in OVERHEAD_TRACES}
    rows = ov.select("run_id", "round", "messages", tokens=pl.col("tokens_in") + pl.col("tokens_out"))
    talking = rows.group_by("run_id").agg(pl.col("round").max())["round"].min()  # every run still going
    if rows["run_id"].n_unique() > 1:  # every run in every round: an ended run sends nothing
        grid = rows.select("run_id").unique().join(rows.select("round").unique(), how="cross")
        rows = grid.join(rows, on=["run_id", "round"], how="left").fill_null(0)
    per = (
        rows.group_by("round")
        .agg(pl.col("messages").mean(), pl.col("tokens").mean())
        .sort("round")
        .with_columns(pl.col("messages").cum_sum().alias("cum_messages"), pl.col("tokens").cum_sum().alias("cum_tokens"))
    )
    rounds = per["round"].to_list()
    out = {key: (rounds, per[key].to_list()) for key in ("messages", "tokens", "cum_messages", "cum_tokens")}
    if n is None:
        for key in ("ref_n", "ref_n2", "cum_ref_n", "cum_ref_n2"):
            out[key] = ([], [])
        return out
    lin, quad = reference_messages(n)
    live = [r for r in rounds if r <= talking]
    out["ref_n"] = (live, [lin] * len(live))
    out["ref_n2"] = (live, [quad] * len(live))
    out["cum_ref_n"] = (live, [lin * r for r in live])
    out["cum_ref_n2"] = (live, [quad * r for r in live])
    return out


def overhead_figure(ov: pl.DataFrame, n: int | None = None, *,
                    title: str = "Communication overhead") -> go.Figure:
    """Messages and tokens per round (top) and cumulative (bottom), with references."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        specs=[[{"secondary_y": True}], [{"secondary_y": True}]],
                        subplot_titles=("per round", "cumulative"))
    series = overhead_series(ov, n)
    for key, name, row, secondary in OVERHEAD_TRACES:
        x, y = series[key]
        base = key.replace("cum_", "")
        is_ref = base.startswith("ref")
        style = reference_line(base) if is_ref else series_style(base)
        if not is_ref:
            style["marker"]["size"] = 5
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines" if is_ref else "lines+markers",
                                 legendgroup=base, showlegend=row == 1, **style),
                      row=row, col=1, secondary_y=secondary)
    fig.update_layout(**base_layout(title, height=430, hovermode="x"))
    fig.update_xaxes(rangemode="tozero", dtick=round_dtick(series["messages"][0]))
    fig.update_xaxes(title_text="round", row=2, col=1)
    fig.update_yaxes(title_text="messages", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="tokens", secondary_y=True, showgrid=False, rangemode="tozero",
                     tickmode="auto", nticks=6)  # never synced to the primary grid (710/1430)
    return fig
