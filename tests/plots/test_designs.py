"""Design figures: every rate with its interval, the front, baselines and fits drawn."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import FaultSpec, team
from llmteams_lab.errors import ArgumentError
from llmteams_lab.experiments import sweep
from llmteams_lab.metrics import baseline_gains, design_summary
from llmteams_lab.plots import gains_figure, pareto_figure, robustness_figure, scaling_figure


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    base = team(4, competence=0.55, max_rounds=4).replace(faults=[FaultSpec(kind="drop", probability=0.0)])
    return sweep(base, {"n": [3, 6], "faults[0].probability": [0.0, 0.5]}, seeds=range(12), baselines=True)


def test_pareto_figure_marks_the_front_and_the_baseline(table):
    team_rows, sc = design_summary(table, arm="team"), design_summary(table, arm="self_consistency")
    fig = pareto_figure(team_rows, baseline=sc)
    names = [t.name for t in fig.data]
    assert names == ["designs", "Pareto front", "self-consistency baseline"]
    assert len(fig.data[0].x) == 4 and fig.data[0].error_y.array is not None
    assert fig.data[2].marker.symbol == "diamond-open"


def test_robustness_scaling_and_gains(table):
    summary = design_summary(table, arm="team")
    rob = robustness_figure(summary, "faults[0].probability", by="n")
    assert [t.name for t in rob.data if t.showlegend is not False] == ["n=3", "n=6"]
    scal = scaling_figure(table, "n", "messages", by="faults[0].probability")
    assert any("∝ n^" in (t.name or "") for t in scal.data) and scal.layout.xaxis.type == "log"
    gains = gains_figure(baseline_gains(table))
    assert len(gains.data) == 2 and len(gains.data[0].x) == 4
    with pytest.raises(ArgumentError, match="'column' must be a column of the table"):
        robustness_figure(summary, "drop_rate")
