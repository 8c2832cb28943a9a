"""The shared look: nice ticks, distinguishable series, a colour-blind-safe palette."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from llmteams_lab import run_sync, team
from llmteams_lab.metrics import convergence, overhead
from llmteams_lab.plots import convergence_figure, overhead_figure
from llmteams_lab.plots.style import (
    FAULT_STYLE,
    PALETTE,
    SERIES,
    apply,
    bar_labels,
    nice_dtick,
    nice_ticks,
    template,
)


def _hue(hex_colour: str) -> tuple[float, float]:
    import colorsys

    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, _, s = colorsys.rgb_to_hls(r, g, b)
    return h * 360, s


def test_nice_ticks_are_one_two_or_five_times_a_power_of_ten():
    assert nice_ticks(0, 1430) == [0, 500, 1000, 1500]
    assert nice_ticks(17.87, 18.89) == [17.75, 18.0, 18.25, 18.5, 18.75, 19.0]
    assert nice_ticks(0, 2, 4) == [0, 0.5, 1.0, 1.5, 2.0]
    assert nice_dtick(0) == 1.0 and nice_ticks(3, 3)[0] == 3.0 and nice_ticks(3, 3)[-1] == 4.0
    for lo, hi in ((0, 7), (0.1, 0.93), (-40, 1e6), (5, 11)):
        ticks = nice_ticks(lo, hi)
        step = ticks[1] - ticks[0]
        mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
        assert round(mantissa, 6) in (1, 2, 2.5, 5), (lo, hi, step)
        assert ticks[0] <= lo and ticks[-1] >= hi


def test_series_that_can_overlap_differ_in_colour_dash_and_marker():
    for a, b in (("agreement", "accuracy"), ("agreement", "team_accuracy"), ("messages", "tokens")):
        sa, sb = SERIES[a], SERIES[b]
        assert sa["color"] != sb["color"] and sa["symbol"] != sb["symbol"], (a, b)
    assert SERIES["agreement"]["dash"] != SERIES["accuracy"]["dash"]


def test_no_red_green_pair_in_the_palette_or_the_fault_glyphs():
    def red(c):
        h, s = _hue(c)
        return s > 0.5 and (h < 15 or h > 345)

    def green(c):
        h, s = _hue(c)
        return s > 0.5 and 90 < h < 150

    colours = set(PALETTE) | {f["color"] for f in FAULT_STYLE.values()}
    assert not (any(red(c) for c in colours) and any(green(c) for c in colours)), colours
    assert len({(f["glyph"], f["color"]) for f in FAULT_STYLE.values()}) == len(FAULT_STYLE)


def test_figures_use_the_shared_template_and_secondary_axes_are_not_synced():
    events = run_sync(team(6, seed=2, max_rounds=4)).events
    conv = convergence_figure(convergence(events), options=4)
    assert conv.layout.yaxis2.tickvals == (0, 0.5, 1.0, 1.5, 2.0)
    agreement, accuracy = conv.data[0], conv.data[1]  # CONVERGENCE_TRACES order
    assert (agreement.line.dash, agreement.marker.symbol) != (accuracy.line.dash, accuracy.marker.symbol)
    ov = overhead_figure(overhead(events), 6)
    assert ov.layout.yaxis2.tickmode == "auto" and ov.layout.yaxis4.tickmode == "auto"
    ref = next(t for t in ov.data if t.name.startswith("O(n²)"))
    assert ref.opacity < 1 and ref.line.width > ov.data[0].line.width, "a translucent band under the data"
    assert conv.layout.template.layout.paper_bgcolor == template()["layout"]["paper_bgcolor"]


def test_apply_and_bar_labels_make_a_lessons_figure_readable():
    fig = go.Figure([go.Bar(x=["a", "b"], y=[0.0, 0.7]), go.Scatter(x=[1], y=[2], yaxis="y2")],
                    layout={"yaxis2": {"overlaying": "y"}})
    apply(bar_labels(fig, "%{y:.0%}"))
    assert fig.data[0].texttemplate == "%{y:.0%}" and fig.data[0].textposition == "outside"
    assert fig.layout.yaxis2.tickmode == "auto" and fig.layout.template.layout.colorway == PALETTE
    assert template(dark=True)["layout"]["paper_bgcolor"] != template()["layout"]["paper_bgcolor"]
    assert isinstance(pl.DataFrame({"x": [1]}), pl.DataFrame)
