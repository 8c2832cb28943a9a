"""The lab's live space-time (Lamport) diagram, beside the team graph.

Why in the lab: in an asynchronous team nothing happens "per round" — agents act when
messages arrive, each message takes its own delay, and a slow agent looks like a
crashed one until it speaks. The space-time diagram (``plots.spacetime``: one lane per
agent, an arrow per message, crashes and the failure detector's suspicions marked) is
the picture that shows it, so the lab draws it live as the run advances. Clicking an
arrow's head (or a lost message's cross) shows that message: who sent it to whom, its
text or answer, when it was sent and when it arrived (or why it was lost).

Cost: the run's events are framed from the engine's columnar log (or, for a replay,
only the new events each time), and the figure is rebuilt at most every :data:`REDRAW_INTERVAL_S` while playing
and never while the browser has not drawn the previous one — Step, Pause and the end
of the run always draw at once. Big runs show the latest slices holding at most
:data:`MAX_ARROWS` messages (the title says which), so the view stays readable and fast.
"""

from __future__ import annotations

import time
from html import escape
from typing import Any

import ipywidgets as w
import polars as pl

from llmteams_lab.metrics import events_frame
from llmteams_lab.plots.spacetime import spacetime_figure
from llmteams_lab.ui.controller import LabController
from llmteams_lab.ui.plot_view import PlotView, figure_json

__all__ = ["MAX_ARROWS", "REDRAW_INTERVAL_S", "SpacetimeView"]

REDRAW_INTERVAL_S = 1.0  # while playing: a redraw of a few thousand arrows costs the browser ~100 ms
MAX_ARROWS = 1500  # messages drawn: the latest slices holding at most this many
_HINT = "Click an arrow's head (▸) or a cross (✕) to read that message."


class SpacetimeView(w.VBox):
    """The space-time diagram of the controller's current run, kept up to date."""

    def __init__(self, controller: LabController) -> None:
        self.controller = controller
        self.plot = PlotView()
        self.plot.add_class("ltl-spacetime-plot")
        self.detail = w.HTML(f"<div class='ltl-help'>{_HINT}</div>")
        self.detail.add_class("ltl-spacetime-detail")
        super().__init__(children=[self.plot, self.detail])
        self.add_class("ltl-spacetime")
        self.frame = events_frame([])
        self.drawn_at = -1.0  # time.monotonic() of the last redraw
        self.redraws = 0
        self.active = True  # the lab turns it off while the view is not offered (a synchronous team)
        self.window: tuple[int, int] | None = None  # the slices drawn, when not all of them
        self._run: Any = None
        self._seen = 0
        self._behind = False
        self.plot.on_click(self._guard(self._clicked))
        self.plot.on_error(controller.report)
        controller.subscribe("round", lambda _state, _events: self.refresh())
        controller.subscribe("state", lambda _state: self._behind and self.refresh(force=not controller.playing))
        controller.subscribe("reset", lambda _spec: self.refresh(force=True))
        controller.subscribe("fork", lambda _old, _k: self.refresh(force=True))
        self.refresh(force=True)

    def _guard(self, fn: Any) -> Any:
        def handler(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as err:  # shown in the lab's error panel, never lost in the kernel log
                self.controller.report(err)
        return handler

    # --- keeping up with the run --------------------------------------------------------------
    def _catch_up(self) -> None:
        """Add the run's new events to the frame (all of them after a reset or a fork)."""
        run = self.controller.run
        events = run.events
        if run is not self._run or len(events) < self._seen:
            self._run, self._seen, self.frame = run, 0, events_frame([])
            self.detail.value = f"<div class='ltl-help'>{_HINT}</div>"
        if len(events) > self._seen:
            if hasattr(events, "store"):  # the engine's columnar log: framed whole from its arrays (~10 M events/s)
                self.frame = events_frame(events)
            else:  # a list of events (a replay): only the new ones
                fresh = events_frame(events[self._seen:])
                self.frame = fresh if self.frame.height == 0 else pl.concat([self.frame, fresh],
                                                                           how="vertical_relaxed")
            self._seen = len(events)

    def refresh(self, *, force: bool = False) -> bool:
        """Redraw if due (see the module docstring); returns whether it redrew."""
        if not self.active:
            return False
        self._catch_up()
        now = time.monotonic()
        due = force or not self.controller.playing or now - self.drawn_at >= REDRAW_INTERVAL_S
        if not due or (not force and not self.plot.caught_up):
            self._behind = True
            return False
        self._behind = False
        self.drawn_at = now
        self.redraws += 1
        self.plot.update(self.figure())
        return True

    def figure(self) -> dict[str, Any]:
        """The diagram of the run so far (its latest slices, for a big run), as the JSON
        the page draws."""
        frame, title = self._windowed()
        q = self.controller.run.question
        figure = figure_json(spacetime_figure(frame, options=tuple(q.options) if q else (), max_messages=MAX_ARROWS,
                                              title=title))
        # beside the graph the diagram has half the lab's width: the legend goes below it
        # (set on the JSON: a plotly update_layout re-validates the figure, ~25 ms)
        layout = figure["layout"]
        # (the legend's top is placed in pixels below the plot area, clear of the x axis title)
        height = layout.get("height", 300) + 100
        margin = layout.get("margin", {})
        plot_px = max(height - margin.get("t", 60) - margin.get("b", 60), 1)
        layout["legend"] = {"orientation": "h", "x": 0, "y": -58 / plot_px, "yanchor": "top"}
        layout["margin"] = {**margin, "r": 10}
        layout["height"] = height
        return figure

    def _windowed(self) -> tuple[pl.DataFrame, str]:
        frame = self.frame
        unit = "slice" if self.controller.asynchronous else "round"
        sent = frame.filter(pl.col("kind") == "MessageSent")
        self.window = None
        if sent.height <= MAX_ARROWS:
            return frame, "Space-time diagram"
        per_round = sent.group_by("round").len().sort("round", descending=True)
        total, first = 0, int(per_round["round"][0])
        for r, count in per_round.iter_rows():
            if total + count > MAX_ARROWS and total > 0:
                break
            total, first = total + count, int(r)
        last = int(frame["round"].max())
        self.window = (first, last)
        kept = frame.filter((pl.col("round") >= first) | (pl.col("kind") == "RunStarted"))
        return kept, f"Space-time diagram, {unit}s {first}–{last} (the latest {total:,} messages)"

    # --- reading a message ----------------------------------------------------------------------
    def _clicked(self, points: list[dict]) -> None:
        for point in points:
            seq = point.get("customdata")
            if isinstance(seq, (int, float)) and not isinstance(seq, bool):
                self.show_message(int(seq))
                return
            if point.get("text"):  # a suspicion, a fault, a turn: what its hover says
                self.detail.value = (f"<div class='ltl-spacetime-mark'>{escape(str(point['text']))} "
                                     f"at t = {_seconds(point.get('x'))}</div>")
                return

    def show_message(self, seq: int) -> None:
        """Show the message sent as event ``seq``: sender, receiver, text, times, fate."""
        sent = self.frame.filter((pl.col("seq") == seq) & (pl.col("kind") == "MessageSent"))
        if sent.height == 0:
            self.detail.value = f"<div class='ltl-invalid-text'>message {seq} is not in this run's events</div>"
            return
        m = sent.row(0, named=True)
        fates = self.frame.filter((pl.col("cause") == seq) & pl.col("kind").is_in(("MessageDelivered",
                                                                                   "MessageDropped")))
        text = m["detail"] or (f"answer: {m['value']}" if m["value"] is not None else "(no text)")
        lines = [f"<b>{escape(str(m['agent']))} → {escape(str(m['peer']))}</b> · sent at t = "
                 f"{_seconds(m['t_start'])} (slice {m['round']})"]
        for f in fates.iter_rows(named=True):
            if f["kind"] == "MessageDelivered":
                lines.append(f"delivered at t = {_seconds(f['t_end'])} · {_seconds(f['t_end'] - m['t_start'])} "
                             f"in flight" + (f" · {escape(f['fault'])}" if f["fault"] else ""))
            else:
                lines.append(f"lost at t = {_seconds(f['t_end'])} ({escape(str(f['fault'] or 'dropped'))})")
        if fates.height == 0:
            lines.append("still in flight")
        self.detail.value = (f"<div class='ltl-spacetime-message' data-seq='{seq}'>{' · '.join(lines[:1])}<br>"
                             f"{'<br>'.join(lines[1:])}<pre class='ltl-message-text'>{escape(text)}</pre></div>")


def _seconds(t: Any) -> str:
    return f"{float(t):.3f} s" if isinstance(t, (int, float)) else "?"
