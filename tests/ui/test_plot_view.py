"""PlotView: the figure is the widget's state, plotly.js comes by message, errors surface.

The browser half (drawing, the error box) is in ``tests/browser``; here the kernel half:
what state a view receives, what the kernel answers, and where a view's error goes.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go

from llmteams_lab import team
from llmteams_lab.errors import PlotRenderError
from llmteams_lab.ui import Lab
from llmteams_lab.ui.plot_view import PlotView
from tests.support import aio


def _sent(view: PlotView) -> list:
    out: list = []
    view.send = lambda content, buffers=None: out.append(content)  # what would go to the page
    return out


def test_every_update_replaces_the_whole_figure_with_plain_json():
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, None, 1.0], name="s"), layout={"title": {"text": "t"}})
    view = PlotView(fig)
    first = view.revision
    json.dumps(view.figure)  # plain JSON: no numpy arrays, no NaN
    assert view.figure["data"][0]["x"] == [1, 2, 3] and view.figure["data"][0]["y"] == [0.5, None, 1.0]
    view.update({"data": [], "layout": {"title": {"text": "empty"}}})
    assert view.revision == first + 1 and view.figure["data"] == []
    assert view.to_figure().layout.title.text == "empty"


def test_a_view_asking_for_plotly_gets_the_plotly_package_bundle_and_it_is_never_state():
    view = PlotView(go.Figure())
    sent = _sent(view)
    view._from_view(view, {"type": "need_plotly"}, [])
    assert len(sent) == 1 and sent[0]["type"] == "plotly" and "plotly.js" in sent[0]["source"][:400]
    state = view.get_state()
    assert all("plotly.js v" not in json.dumps(value)[:10_000] for key, value in state.items() if key != "_esm")
    assert len(json.dumps(state.get("figure"))) < 10_000


def test_rendered_reports_are_recorded():
    view = PlotView(go.Figure(go.Scatter(x=[1], y=[1])))
    view._from_view(view, {"type": "rendered", "revision": view.revision, "traces": 1}, [])
    assert view.rendered == view.revision and view.drawn_traces == 1


@aio
async def test_a_plot_the_browser_cannot_draw_reaches_the_labs_error_panel():
    lab = Lab(team(4, seed=1))
    await lab.step()
    view = lab.figures.overhead
    view._from_view(view, {"type": "error", "message": "Plotly.react failed: x"}, [])
    assert lab.errors.shown and isinstance(lab.errors.shown[0], PlotRenderError)
    assert "Communication overhead" in str(lab.errors.shown[0]) and "Plotly.react failed" in str(lab.errors.shown[0])
    assert lab.errors.layout.display == "flex"
