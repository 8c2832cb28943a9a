"""One metric against one swept parameter, a line per group: the notebooks' figures.

E.g. team accuracy against team size, a line per protocol (the jury theorem), or
messages per round against team size, a line per topology, with the O(n) and O(n²)
reference curves (``references=True``). The references are message counts per round
of a team of x agents, so they are drawn only where that is what the figure shows: ``x``
the team size and ``y`` a count of messages per round (a column whose name says
"message" — tokens, seconds or accuracy get a clear error instead of a wrong curve).
Rows sharing (group, x) — repeated seeds — are averaged, and the spread is drawn as
an error bar (standard error of the mean) so a reader sees how sure each point is.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from llmteams_lab.errors import SpecError
from llmteams_lab.plots.style import PALETTE, base_layout, reference_line
from llmteams_lab.plots.overhead import reference_messages

__all__ = ["sweep_figure"]

# groups differ in dash and marker as well as colour (overlapping lines stay apart)
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
_SYMBOLS = ("circle", "diamond", "square", "triangle-up", "x", "star")


def sweep_figure(frame: pl.DataFrame, x: str, y: str, by: str | None = None, *, title: str = "",
                 y_title: str | None = None, references: bool = False, log_y: bool = False) -> go.Figure:
    """Mean of ``y`` per ``x`` (one line per value of ``by``), with SEM error bars."""
    for role, column in (("x", x), ("y", y), ("by", by)):
        if column is not None and column not in frame.columns:
            raise SpecError(role, f"must be a column of the frame {sorted(frame.columns)}", column)
    keys = [by, x] if by else [x]
    stats = (
        frame.group_by(keys)
        .agg(pl.col(y).cast(pl.Float64).mean().alias("mean"),
             (pl.col(y).cast(pl.Float64).std() / pl.len().sqrt()).fill_null(0.0).alias("sem"))
        .sort(keys)
    )
    fig = go.Figure(layout=base_layout(title or f"{y} by {x}", hovermode="closest"))
    groups = stats.partition_by(by, maintain_order=True) if by else [stats]
    for i, part in enumerate(groups):
        name = str(part[by][0]) if by else y
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=part[x].to_list(), y=part["mean"].to_list(), name=name, mode="lines+markers",
                                 error_y={"type": "data", "array": part["sem"].to_list(), "visible": True},
                                 line={"color": color, "dash": _DASHES[i % len(_DASHES)]},
                                 marker={"color": color, "symbol": _SYMBOLS[i % len(_SYMBOLS)], "size": 7}))
    if references:
        _check_references(frame, x, y)
        _add_references(fig, sorted(set(stats[x].to_list())))
    fig.update_layout(xaxis={"title": {"text": x}}, yaxis={"title": {"text": y_title or y},
                                                          "type": "log" if log_y else "linear"})
    return fig


def _check_references(frame: pl.DataFrame, x: str, y: str) -> None:
    """The O(n)/O(n²) references are messages per round against team size (module doc)."""
    if "message" not in y.lower():
        raise SpecError("references", "draws messages per round (O(n), O(n²)); y must be a message count "
                                      "per round (a column named with 'message')", y)
    sizes = frame[x]
    if not sizes.dtype.is_integer() or sizes.min() < 1:
        raise SpecError("references", "needs x to be the team size (whole numbers >= 1)", x)


def _add_references(fig: go.Figure, sizes: list[int]) -> None:
    """O(n) and O(n²) message counts per round at each team size."""
    lin = [reference_messages(int(n))[0] for n in sizes]
    quad = [reference_messages(int(n))[1] for n in sizes]
    for name, ys, key in (("O(n): 2(n−1)", lin, "ref_n"), ("O(n²): n(n−1)", quad, "ref_n2")):
        fig.add_trace(go.Scatter(x=sizes, y=ys, name=name, mode="lines", **reference_line(key)))
