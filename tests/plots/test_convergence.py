"""Convergence figure: the plotted arrays are exactly the metrics, runs averaged."""

from __future__ import annotations

import math

import polars as pl

from llmteams_lab import run_sync, team
from llmteams_lab.metrics import convergence, empty_frame
from llmteams_lab.plots import (
    CONVERGENCE_TRACES,
    convergence_figure,
    convergence_series,
)
from tests.support import no_stop


def _conv(seed: int, n: int = 5) -> pl.DataFrame:
    return convergence(run_sync(no_stop(team(n, seed=seed, max_rounds=4, competence=0.5))).events)


def test_series_of_one_run_are_its_metrics():
    conv = _conv(3)
    series = convergence_series(conv)
    assert series["agreement"] == (conv["round"].to_list(), conv["agreement"].to_list())
    assert series["entropy"][1] == conv["entropy"].to_list()
    team_acc = [float(c) for c in conv["team_correct"].to_list()]
    assert series["team_accuracy"][1] == team_acc


def test_several_runs_are_averaged_per_round():
    a, b = _conv(1), _conv(2)
    series = convergence_series(pl.concat([a, b]))
    assert series["accuracy"][0] == [1, 2, 3, 4]
    expected = [(x + y) / 2 for x, y in zip(a["accuracy"], b["accuracy"])]
    assert series["accuracy"][1] == expected
    share = [(float(x) + float(y)) / 2 for x, y in zip(a["team_correct"], b["team_correct"])]
    assert series["team_accuracy"][1] == share


def _row(run: str, round: int, agreement: float, correct: bool | None) -> dict:
    return {"run_id": run, "round": round, "agents": 4, "replies": 4, "agreement": agreement, "entropy": 0.0,
            "accuracy": agreement, "team_value": None if correct is None else "A", "team_correct": correct,
            "flips": 0}


def test_runs_that_stopped_keep_their_final_state_no_survivorship_bias():
    """Three runs stopping at rounds 1, 2 and 4. Averaging only the runs still going gives
    team accuracy 2/3, 1/2, 0, 0 (round 4: one run); carrying each run's final state forward
    averages all three every round: (1 + 1 + 0)/3 from round 2 on."""
    conv = pl.DataFrame([_row("a", 1, 1.0, True),
                         _row("b", 1, 0.5, False), _row("b", 2, 1.0, True),
                         _row("c", 1, 0.5, None), _row("c", 2, 0.5, False), _row("c", 3, 0.75, False),
                         _row("c", 4, 0.75, False)])
    series = convergence_series(conv)
    assert series["team_accuracy"] == ([1, 2, 3, 4], [1 / 3, 2 / 3, 2 / 3, 2 / 3])  # c undecided in round 1
    assert series["agreement"][1] == [2 / 3, 2.5 / 3, 2.75 / 3, 2.75 / 3]
    alive_only = conv.group_by("round").agg(pl.col("team_correct").cast(pl.Float64).mean()).sort("round")
    assert alive_only["team_correct"].to_list() == [0.5, 0.5, 0.0, 0.0]  # the biased curve, for contrast


def test_axis_and_legend_say_what_each_share_is_of():
    fig = convergence_figure(_conv(1))
    names = [t.name for t in fig.data]
    assert names[:3] == ["agreement (share of agents)", "individual accuracy (share of agents)",
                         "team accuracy (share of runs)"]
    assert "runs" in fig.layout.yaxis.title.text and fig.layout.yaxis2.title.text == "entropy (bits)"


def test_figure_has_one_trace_per_metric_and_entropy_axis_up_to_log2_k():
    fig = convergence_figure(_conv(1), options=8)
    assert [t.name for t in fig.data] == [name for _, name, _ in CONVERGENCE_TRACES]
    assert fig.data[3].yaxis == "y2"
    assert math.isclose(fig.layout.yaxis2.range[1], 3 * 1.04) and math.isclose(fig.layout.yaxis.range[1], 1.04)
    assert list(fig.data[0].x) == [1, 2, 3, 4]


def test_empty_frame_gives_empty_traces():
    fig = convergence_figure(convergence(empty_frame()))
    assert all(len(t.x or ()) == 0 for t in fig.data)
