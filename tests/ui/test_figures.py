"""Live figures: extended round by round, they equal the pure plots of the whole run."""

from __future__ import annotations

import math

from llmteams_lab import team
from llmteams_lab.metrics import convergence, overhead
from llmteams_lab.plots import convergence_series, overhead_series
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.ui import Lab
from tests.support import aio, no_stop


def _same(live: tuple, pure: tuple) -> bool:
    (lx, ly), (px, py) = live, pure
    return list(lx) == list(px) and all(
        (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b)) for a, b in zip(ly, py))


@aio
async def test_live_series_equal_the_plots_of_the_finished_run():
    lab = Lab(no_stop(team(6, topology="ring", competence=0.4, seed=8, max_rounds=7)))
    await lab.step()
    lab.inject(FaultSpec(kind="crash", agent="a1"))
    lab.inject(FaultSpec(kind="drop", link=("a2", "a3")))
    await lab.run()
    events = lab.events
    pure = {**convergence_series(convergence(events)), **overhead_series(overhead(events), 6)}
    assert set(pure) == set(lab.figures.series)
    for key, series in pure.items():
        assert _same(lab.figures.series[key], series), key
    widget = lab.figures.overhead.data[4]  # cumulative messages, as sent to the browser
    assert list(widget.y) == pure["cum_messages"][1] and lab.figures.rounds == list(range(1, 8))


@aio
async def test_reset_empties_the_figures_and_rescales_the_references():
    lab = Lab(no_stop(team(4, seed=1, max_rounds=3)))
    await lab.run()
    await lab.reset(no_stop(team(9, seed=1, max_rounds=3, options=8)))
    assert lab.figures.rounds == [] and all(len(t.x) == 0 for t in lab.figures.overhead.data)
    assert math.isclose(lab.figures.convergence.layout.yaxis2.range[1], 3 * 1.04)
    await lab.step()
    assert list(lab.figures.overhead.data[3].y) == [72.0]  # n(n − 1) for n = 9


@aio
async def test_rounds_are_queued_and_plotted_in_one_pass_from_the_runs_event_store():
    lab = Lab(no_stop(team(6, seed=4, max_rounds=9)))
    lab._render = lambda **_: None  # as while playing: no frame, no redraw, rounds only queue
    await lab.run(5)
    assert len(lab.figures._queued) == 5 and lab.figures.rounds == [], "nothing computed yet"
    assert lab.figures.series["agreement"][0] == [1, 2, 3, 4, 5] and lab.figures._queued == []
    await lab.run()
    events = lab.events
    pure = {**convergence_series(convergence(events)), **overhead_series(overhead(events), 6)}
    for key, series in pure.items():
        assert _same(lab.figures.series[key], series), key


@aio
async def test_every_round_axis_gets_about_ten_ticks_however_long_the_run():
    lab = Lab(no_stop(team(4, seed=1, max_rounds=120)))
    await lab.run()
    for view in lab.figures.views:
        axes = {k: v for k, v in view.figure["layout"].items() if k.startswith("xaxis")}
        assert axes and all(a["dtick"] == 12 for a in axes.values()), axes
