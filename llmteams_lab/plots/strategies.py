"""Error-handling strategies side by side: success, tokens and time of each, under the
faults and without them (``experiments.strategies.strategy_table``).

Three panels share the strategies on their x axes: the success rate (the whole output,
right) beside the share of half-done outputs — what compensation exists to prevent —,
the mean tokens and the mean seconds to the run's end. Each panel pairs a strategy's
runs under the faults (solid bars) with its fault-free runs (light bars), so a
strategy's price — retries' extra calls, voting's replicas — is read against itself.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from llmteams_lab.plots.style import OKABE_ITO, base_layout, nice_ticks

__all__ = ["strategies_figure"]

# panel -> (column under the faults, fault-free column, axis title)
_PANELS = (("success", "success_fault_free", "success (× half-done)"),
           ("tokens", "tokens_fault_free", "tokens per run"),
           ("seconds", "seconds_fault_free", "seconds per run"))
_FAULTY, _CLEAN, _HALF = OKABE_ITO["blue"], OKABE_ITO["sky_blue"], OKABE_ITO["vermillion"]


def strategies_figure(table: pl.DataFrame, *, title: str = "Error-handling strategies under the same faults"
                      ) -> go.Figure:
    """Grouped bars of a ``strategy_table`` (see the module docstring)."""
    names = table["strategy"].to_list()
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.09, subplot_titles=[p[2] for p in _PANELS])
    for col, (faulty, clean, label) in enumerate(_PANELS, start=1):
        first = col == 1
        fig.add_trace(go.Bar(x=names, y=table[faulty].to_list(), name="with the faults", marker_color=_FAULTY,
                             legendgroup="faulty", showlegend=first,
                             hovertemplate="%{x}: %{y:.3g} " + label + " (faults)<extra></extra>"), row=1, col=col)
        fig.add_trace(go.Bar(x=names, y=table[clean].to_list(), name="fault-free", marker_color=_CLEAN,
                             marker_pattern_shape="/", legendgroup="clean", showlegend=first,
                             hovertemplate="%{x}: %{y:.3g} " + label + " (fault-free)<extra></extra>"),
                      row=1, col=col)
        top = max([v for v in table[faulty].to_list() + table[clean].to_list() if v is not None] or [1.0])
        ticks = [0.0, 0.25, 0.5, 0.75, 1.0] if faulty == "success" else nice_ticks(0.0, top, 4)
        fig.update_yaxes(tickvals=ticks, range=[0, ticks[-1] * 1.02], row=1, col=col)
    fig.add_trace(go.Scatter(x=names, y=table["half_done"].to_list(), name="half-done outputs (faults)",
                             mode="markers", marker={"color": _HALF, "symbol": "x-thin", "size": 14,
                                                     "line": {"width": 3, "color": _HALF}},
                             hovertemplate="%{x}: %{y:.0%} of outputs half done<extra></extra>"), row=1, col=1)
    fig.update_xaxes(tickangle=0, tickfont={"size": 11})
    fig.update_layout(**base_layout(title, barmode="group", hovermode="closest", height=370,
                                    legend={"orientation": "h", "y": -0.14, "x": 0.0, "yanchor": "top"},
                                    margin={"l": 55, "r": 20, "t": 70, "b": 40}))
    return fig
