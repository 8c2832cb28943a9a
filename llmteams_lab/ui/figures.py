"""Live plotly FigureWidgets: convergence and overhead, extended as each round arrives.

The figures are built by the pure builders in ``llmteams_lab.plots`` and updated
with the same ``*_series`` functions, so a live lab and a notebook plot of a saved
run draw exactly the same thing. Each round's metrics are computed from that round's
events only (the metrics are per round; cumulative sums are recomputed by the series
functions), so an update costs the same in round 5 and in round 500.
"""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
import polars as pl

from llmteams_lab.events import Event
from llmteams_lab.metrics import convergence, empty_frame, events_frame, overhead
from llmteams_lab.plots import (
    CONVERGENCE_TRACES,
    OVERHEAD_TRACES,
    convergence_figure,
    convergence_series,
    overhead_figure,
    overhead_series,
)

__all__ = ["LiveFigures"]


class LiveFigures:
    """The lab's two live figures (``.convergence``, ``.overhead``) for a team of ``n``."""

    def __init__(self, n: int, options: int | None = None):
        self.n, self.options = n, options
        empty = empty_frame()
        self._conv = convergence(empty)
        self._over = overhead(empty)
        self.convergence = go.FigureWidget(convergence_figure(self._conv, options=options))
        self.overhead = go.FigureWidget(overhead_figure(self._over, n))
        self.marked: int | None = None

    def reset(self, n: int, options: int | None = None) -> None:
        """Empty both figures for a new run of a team of ``n`` with ``options`` answers."""
        self.n, self.options = n, options
        empty = empty_frame()
        self._conv, self._over = convergence(empty), overhead(empty)
        fresh = convergence_figure(self._conv, options=options)
        with self.convergence.batch_update():
            self.convergence.layout.yaxis2.range = fresh.layout.yaxis2.range
        self._redraw()
        self.mark(None)

    def add_round(self, events: Sequence[Event]) -> None:
        """Append the metrics of one round's events and redraw the traces."""
        frame = events_frame(events)
        conv, over = convergence(frame), overhead(frame)
        if conv.is_empty() and over.is_empty():
            return
        self._conv = pl.concat([self._conv, conv], how="vertical_relaxed")
        self._over = pl.concat([self._over, over], how="vertical_relaxed")
        self._redraw()

    @property
    def rounds(self) -> list[int]:
        """Rounds plotted so far (what the browser test and benchmark count)."""
        return list(self.convergence.data[0].x or ())

    def _redraw(self) -> None:
        conv = convergence_series(self._conv)
        over = overhead_series(self._over, self.n)
        for fig, keys, series in ((self.convergence, [k for k, *_ in CONVERGENCE_TRACES], conv),
                                  (self.overhead, [k for k, *_ in OVERHEAD_TRACES], over)):
            with fig.batch_update():
                for trace, key in zip(fig.data, keys):
                    trace.x, trace.y = series[key]

    def mark(self, round: int | None) -> None:
        """Draw a vertical line at ``round`` (the scrubber's round); ``None`` removes it."""
        if round == self.marked:
            return
        self.marked = round
        shapes = [] if round is None else [
            {"type": "line", "x0": round, "x1": round, "xref": "x", "yref": "paper", "y0": 0, "y1": 1,
             "line": {"color": "#D55E00", "width": 1.5, "dash": "dot"}}]
        for fig in (self.convergence, self.overhead):
            fig.layout.shapes = shapes
