"""Scheduling and speculation figures: the bars, the bounds and the threshold curves say what they show."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import SpecError
from llmteams_lab.metrics import policy_bounds
from llmteams_lab.plots import policy_figure, speculation_figure
from llmteams_lab.workloads.workdivision.dag import random_dag


def test_policy_figure_draws_each_design_and_both_bounds() -> None:
    frame = policy_bounds(random_dag(40, seed=3, max_work=4), 4)
    fig = policy_figure(frame)
    bars = fig.data[0]
    assert list(bars.x) == frame["makespan"].to_list() and len(bars.y) == frame.height
    names = [t.name for t in fig.data[1:]]
    assert names[0].startswith("critical-path bound") and names[1].startswith("work bound")
    assert fig.data[1].x[0] == frame["critical_path_bound"][0] and fig.data[2].x[0] == frame["work_bound"][0]
    assert min(bars.x) >= max(frame["critical_path_bound"][0], frame["work_bound"][0])


def test_speculation_figure_means_per_threshold_and_references_without_backups() -> None:
    frame = pl.DataFrame({"backup_after": [1.5, 1.5, 3.0, None, None],
                          "makespan_s": [10.0, 12.0, 20.0, 30.0, 34.0], "tokens": [100, 120, 90, 80, 84]})
    fig = speculation_figure(frame)
    makespan, makespan_off, tokens, tokens_off = fig.data
    assert list(makespan.x) == [1.5, 3.0] and list(makespan.y) == [11.0, 20.0]
    assert list(tokens.y) == [110.0, 90.0] and tokens.yaxis == "y2"
    assert list(makespan_off.y) == [32.0, 32.0] and list(tokens_off.y) == [82.0, 82.0]
    with pytest.raises(SpecError, match="must have the columns"):
        speculation_figure(frame.drop("tokens"))
