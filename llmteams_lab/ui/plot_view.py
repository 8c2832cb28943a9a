"""``PlotView``: a plotly figure as an anywidget whose state is the whole figure.

Why not plotly's ``FigureWidget``: it syncs a figure once and sends every later change
as a transient delta; a delta that reaches the page before the view's 5 MB bundle has
registered its listeners (a kernel restart in the same page, a loaded machine) is lost
and the plot stays blank — axes −1…6, no title, no error. Here :attr:`figure` holds the
complete figure (plain JSON) and every update replaces it, so a view draws the latest
state whenever it renders, however many updates it missed (``widgets/plot_view.js``).

plotly.js itself is not in the widget state (FigureWidget stored its bundle in every
saved notebook, 10 MB for a lesson): the first view of a page asks for it by a custom
message and this class answers with the plotly package's own bundle. Views report back:
``rendered`` (the revision drawn and its trace count) and ``error`` — a plot that cannot
be drawn shows the reason in its box and reaches :meth:`on_error` (the lab's error panel).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import itertools
import json
from typing import Any, Callable

import anywidget
import plotly.graph_objects as go
import traitlets as t

from llmteams_lab.errors import PlotRenderError
from llmteams_lab.ui._assets import asset

__all__ = ["PlotView", "figure_json"]


@functools.cache
def _plotly_source() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_json(figure: go.Figure | dict) -> dict[str, Any]:
    """A figure as plain JSON data (lists, numbers, strings), as the view receives it."""
    if isinstance(figure, dict):
        return json.loads(json.dumps(figure))
    return json.loads(figure.to_json(validate=False))


class PlotView(anywidget.AnyWidget):
    """One live plot. ``update(figure)`` replaces what every view draws."""

    _esm = asset("plot_view.js")
    _css = asset("plot_view.css")

    figure = t.Dict().tag(sync=True)
    revision = t.Int(0).tag(sync=True)

    def __init__(self, figure: go.Figure | dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rendered = -1  # the last revision a view reported drawn (-1: none yet)
        self.drawn_traces = 0
        self.errors: list[str] = []
        self._on_error: list[Callable[[PlotRenderError], None]] = []
        self._images: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self.on_msg(self._from_view)
        if figure is not None:
            self.update(figure)

    def update(self, figure: go.Figure | dict) -> None:
        """Show ``figure`` (a plotly figure or its plain-JSON dict) in every view."""
        data = figure if isinstance(figure, dict) else figure_json(figure)
        with self.hold_sync():
            self.revision += 1
            self.figure = data

    async def to_png(self, *, timeout: float = 15.0) -> bytes:
        """The plot as drawn in the page, as PNG bytes (``Plotly.toImage`` in the view)."""
        if self.rendered < 0:
            raise PlotRenderError("a PNG is drawn by the page: display the plot (or the lab) first")
        ask = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._images[ask] = future
        self.send({"type": "to_image", "id": ask})
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise PlotRenderError(f"the page did not send the PNG within {timeout:g} s; is the lab on screen?") \
                from None
        finally:
            self._images.pop(ask, None)

    @property
    def caught_up(self) -> bool:
        """Whether a view has drawn the latest revision (always, when no view ever drew)."""
        return self.rendered < 0 or self.rendered >= self.revision

    def on_error(self, fn: Callable[[PlotRenderError], None]) -> None:
        """Call ``fn(error)`` when a view reports that it could not draw the plot."""
        self._on_error.append(fn)

    def to_figure(self) -> go.Figure:
        """The figure on screen as a plotly ``Figure`` (to save, export or inspect)."""
        return go.Figure(self.figure)

    @property
    def data(self) -> tuple:
        return self.to_figure().data

    @property
    def layout(self) -> Any:
        return self.to_figure().layout

    def _from_view(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "need_plotly":
            self.send({"type": "plotly", "source": _plotly_source()})
        elif kind == "rendered":
            self.rendered = max(self.rendered, int(content.get("revision", -1)))
            self.drawn_traces = int(content.get("traces", 0))
        elif kind == "image":
            future = self._images.get(int(content.get("id", -1)))
            data = str(content.get("data", ""))
            if future is not None and not future.done() and data.startswith("data:image/png;base64,"):
                # thread-safe: the kernel may hand comm messages over outside the loop's own
                # callbacks, and a plain set_result would then wake the waiter only at its timeout
                png = base64.b64decode(data.split(",", 1)[1])
                future.get_loop().call_soon_threadsafe(lambda: future.done() or future.set_result(png))
        elif kind == "error":
            message = str(content.get("message", "unknown error"))[:500]
            self.errors.append(message)
            title = (self.figure.get("layout", {}).get("title") or {})
            name = title.get("text") if isinstance(title, dict) else title
            err = PlotRenderError(f"the plot {name!r} could not be drawn in the browser: {message}")
            for fn in list(self._on_error):
                fn(err)
