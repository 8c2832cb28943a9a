"""Live plots: convergence and overhead, extended as each round arrives.

The figures are built by the pure builders in ``llmteams_lab.plots`` (so a live lab
and a notebook plot of a saved run look the same), and each round's points are the
metrics of that round's events (``metrics.convergence`` / ``metrics.overhead``, which
group by round). Rounds are queued as they arrive and their metrics computed in one pass
when the series are next read or drawn: while the lab plays at full speed the plots are
redrawn about twice a second, and one polars pass over ten rounds costs about what one
pass over one round does (~12 ms on a 2-core machine, most of a round's cost in the lab).
The series are then extended in place — one row per round, running
sums for the cumulative curves — instead of regrouping the whole run, so an update
costs the same in round 5 and in round 500. A test checks that the live arrays equal
``plots.convergence_series`` / ``overhead_series`` of the finished run.

Each figure is shown by a :class:`~llmteams_lab.ui.plot_view.PlotView`, whose state is the
whole figure: a redraw sends the complete figure (a few kB), never a delta that a view
not yet listening could miss (the cause of the blank plots FigureWidget showed).
"""

from __future__ import annotations

import copy
from typing import Sequence

import polars as pl

from llmteams_lab.events import Event
from llmteams_lab.metrics import convergence, empty_frame, events_frame, overhead
from llmteams_lab.plots import (
    CONVERGENCE_TRACES,
    OVERHEAD_TRACES,
    convergence_figure,
    overhead_figure,
    reference_messages,
)
from llmteams_lab.plots.convergence import round_dtick
from llmteams_lab.runtime.log import LogBatch
from llmteams_lab.ui.plot_view import PlotView, figure_json

__all__ = ["LiveFigures", "relabel_rounds"]

# the event kinds the two figures are computed from (message fates are not plotted; a
# failed call's AgentFailed carries the answer its live agent still holds: metrics.consensus)
_PLOTTED = frozenset({"AgentFailed", "AgentReplied", "AnswersTallied", "MessageSent", "RoundEnded"})
_STRAIGHT = frozenset({"ref_n", "ref_n2", "cum_ref_n", "cum_ref_n2"})  # lines: two points draw them
MARKERS_UP_TO = 60  # rounds; beyond, lines only (thousands of SVG markers slow the browser)
LAB_HEIGHTS = {"convergence": 340, "overhead": 360}  # both plots beside the graph on a laptop screen
_GHOST = {"convergence": ("agreement", "y"), "overhead": ("messages", "y")}


class LiveFigures:
    """The lab's two live figures (``.convergence``, ``.overhead``) for a team of ``n``."""

    def __init__(self, n: int, options: int | None = None):
        self.convergence = PlotView()
        self.overhead = PlotView()
        self.marked: int | None = None
        self.unit = "round"  # the x axis counts these ("slice" for an asynchronous team: see the lab)
        self.ghost: tuple[str, dict[str, tuple[list, list]]] | None = None  # an earlier timeline to compare
        self._clear(n, options)
        self.redraw()

    @property
    def views(self) -> list[PlotView]:
        return [self.convergence, self.overhead]

    def truncate(self, k: int) -> None:
        """Keep rounds 1..k only (the lab forked from round k)."""
        for key, (xs, ys) in self.series.items():  # (reading ``series`` adds the queued rounds first)
            keep = sum(1 for x in xs if x <= k)
            del xs[keep:], ys[keep:]

    def compare(self, label: str, history: object = None) -> None:
        """Draw the series as they stand now, faint, as the timeline ``label`` (before a fork)."""
        self.ghost = (label, {key: (list(xs), list(ys)) for key, (xs, ys) in self.series.items()})

    def _clear(self, n: int, options: int | None) -> None:
        self.n, self.options = n, options
        empty = empty_frame()  # the builders' figures with no points: styles, axes, titles
        self._base = {"convergence": figure_json(convergence_figure(convergence(empty), options=options)),
                      "overhead": figure_json(overhead_figure(overhead(empty), n))}
        self._queued: list[Sequence[Event]] = []  # events of rounds not yet in the series
        self._series: dict[str, tuple[list, list]] = {
            key: ([], []) for key in [k for k, *_ in CONVERGENCE_TRACES] + [k for k, *_ in OVERHEAD_TRACES]}

    def reset(self, n: int, options: int | None = None) -> None:
        """Empty both figures for a new run of a team of ``n`` with ``options`` answers."""
        self._clear(n, options)
        self.marked = None
        self.ghost = None
        self.redraw()

    @property
    def series(self) -> dict[str, tuple[list, list]]:
        """Each trace's (x, y) lists, every round added so far included."""
        self._flush()
        return self._series

    def add_round(self, events: Sequence[Event], *, redraw: bool = True, state: object = None) -> None:
        """Add one round's events (a whole round: its metrics are per round) and redraw,
        unless told not to; the metrics are computed when the series are next needed."""
        self._queued.append(events if isinstance(events, LogBatch) else [e for e in events if e.kind in _PLOTTED])
        if redraw:
            self.redraw()

    def _flush(self) -> None:
        """Append the metrics of the queued rounds to the series (one polars pass)."""
        if not self._queued:
            return
        frame, self._queued = _queued_frame(self._queued), []
        for row in convergence(frame).iter_rows(named=True):
            correct = row["team_correct"]
            for key, value in (("agreement", row["agreement"]), ("accuracy", row["accuracy"]),
                               ("team_accuracy", None if correct is None else float(correct)),
                               ("entropy", row["entropy"])):
                self._append(key, row["round"], value)
        for row in overhead(frame).iter_rows(named=True):
            self._add_overhead(row["round"], row["messages"], row["tokens_in"] + row["tokens_out"])

    def _append(self, key: str, round: int, value: float | None) -> None:
        xs, ys = self._series[key]
        xs.append(round)
        ys.append(value)

    def _add_overhead(self, round: int, messages: int, tokens: int) -> None:
        lin, quad = reference_messages(self.n)
        cum = {key: (self._series[key][1][-1] if self._series[key][1] else 0) for key in ("cum_messages", "cum_tokens")}
        for key, value in (("messages", float(messages)), ("tokens", float(tokens)),
                           ("cum_messages", cum["cum_messages"] + float(messages)),
                           ("cum_tokens", cum["cum_tokens"] + float(tokens)), ("ref_n", lin), ("ref_n2", quad),
                           ("cum_ref_n", lin * round), ("cum_ref_n2", quad * round)):
            self._append(key, round, value)

    @property
    def rounds(self) -> list[int]:
        """Rounds plotted so far (what the browser test and benchmark count)."""
        return [int(v) for v in self.convergence.figure["data"][0].get("x") or []]

    def on_error(self, fn) -> None:
        """Call ``fn(error)`` when either plot cannot be drawn in the browser."""
        self.convergence.on_error(fn)
        self.overhead.on_error(fn)

    def redraw(self) -> None:
        """Send both figures, with every series, to the browser (one state update each)."""
        rounds = self.series["agreement"][0]
        dtick = round_dtick(rounds)
        markers = len(rounds) <= MARKERS_UP_TO
        shapes = [] if self.marked is None else [
            {"type": "line", "x0": self.marked, "x1": self.marked, "xref": "x", "yref": "paper", "y0": 0, "y1": 1,
             "line": {"color": "#D55E00", "width": 1.5, "dash": "dot"}}]
        for view, name, keys in ((self.convergence, "convergence", [k for k, *_ in CONVERGENCE_TRACES]),
                                 (self.overhead, "overhead", [k for k, *_ in OVERHEAD_TRACES])):
            figure = copy.deepcopy(self._base[name])
            for trace, key in zip(figure["data"], keys):
                x, y = self.series[key]
                if key in _STRAIGHT and len(x) > 2:
                    x, y = [x[0], x[-1]], [y[0], y[-1]]
                trace["x"], trace["y"] = list(x), list(y)  # None: a gap (JSON has no NaN)
                if not markers and trace.get("mode") == "lines+markers" and key not in _STRAIGHT:
                    trace["mode"] = "lines"
            layout = figure.setdefault("layout", {})
            for axis in [k for k in layout if k.startswith("xaxis")] or ["xaxis"]:  # every round axis (the
                layout.setdefault(axis, {})["dtick"] = dtick  # overhead's two: one tick a round drew 370 labels)
            layout["shapes"] = shapes
            layout["height"] = LAB_HEIGHTS[name]
            for axis in ("yaxis", "yaxis2"):  # long axis titles must fit the lab's smaller plots
                if isinstance(layout.get(axis, {}).get("title"), dict):
                    layout[axis]["title"]["font"] = {"size": 11}
            if self.unit != "round":
                relabel_rounds(layout, self.unit)
            if self.ghost is not None:
                figure["data"].append(self._ghost_trace(name))
            view.update(figure)

    def _ghost_trace(self, name: str) -> dict:
        label, series = self.ghost  # type: ignore[misc]
        key, axis = _GHOST[name]
        x, y = series[key]
        return {"type": "scatter", "x": list(x), "y": list(y), "name": f"{key} ({label})", "mode": "lines",
                "yaxis": axis, "line": {"color": "#8d949e", "dash": "dot", "width": 2}, "opacity": 0.8}

    def mark(self, round: int | None) -> None:
        """Draw a vertical line at ``round`` (the scrubber's round); ``None`` removes it."""
        if round == self.marked:
            return
        self.marked = round
        self.redraw()


def _queued_frame(chunks: Sequence[Sequence[Event]]) -> pl.DataFrame:
    """One frame of the plotted events of ``chunks`` (rounds, in order). Consecutive slices
    of one event store (a live run's rounds, see ``LabController``) are read as one slice
    from its columns — no Python object per event, ~1 ms for ten rounds of a 20-agent
    team where building it from typed events took ~4 ms a round."""
    merged: list[Sequence[Event]] = []
    for chunk in chunks:
        last = merged[-1] if merged else None
        if isinstance(chunk, LogBatch) and isinstance(last, LogBatch) and last.store is chunk.store \
                and last.stop == chunk.start:
            merged[-1] = LogBatch(chunk.store, last.start, chunk.stop)
        else:
            merged.append(chunk)
    frames = [events_frame(c) for c in merged]
    frame = pl.concat(frames) if len(frames) > 1 else frames[0]
    return frame.filter(pl.col("kind").is_in(list(_PLOTTED)))


def relabel_rounds(layout: dict, unit: str) -> None:
    """Say ``unit`` (e.g. "slice") where the figure says "round": axis titles, subplot titles."""
    for key, axis in layout.items():
        title = axis.get("title") if key.startswith("xaxis") and isinstance(axis, dict) else None
        if isinstance(title, dict) and title.get("text") == "round":
            title["text"] = unit
    for note in layout.get("annotations", []):
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            note["text"] = note["text"].replace("per round", f"per {unit}")
