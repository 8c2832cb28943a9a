"""Overhead figure: per-round and cumulative bills, O(n) and O(n²) references."""

from __future__ import annotations

import polars as pl

from llmteams_lab import run_sync, team
from llmteams_lab.metrics import overhead
from llmteams_lab.plots import (
    OVERHEAD_TRACES,
    overhead_figure,
    overhead_series,
    reference_messages,
)
from tests.support import no_stop


def _over(topology: str, n: int = 6, rounds: int = 3) -> pl.DataFrame:
    return overhead(run_sync(no_stop(team(n, topology=topology, seed=2, max_rounds=rounds))).events)


def test_reference_counts_are_star_and_complete_graph_messages():
    assert reference_messages(6) == (10, 30)
    assert reference_messages(1) == (0, 0)
    complete = overhead_series(_over("complete"), 6)
    star = overhead_series(_over("star"), 6)
    assert complete["messages"][1] == [30.0, 30.0, 30.0] == complete["ref_n2"][1]
    assert star["messages"][1] == [10.0, 10.0, 10.0] == star["ref_n"][1]


def test_cumulative_series_match_the_metric_columns():
    ov = _over("ring")
    series = overhead_series(ov, 6)
    assert series["cum_messages"][1] == [float(v) for v in ov["cum_messages"]]
    tokens = (ov["tokens_in"] + ov["tokens_out"]).to_list()
    assert series["tokens"][1] == [float(v) for v in tokens]
    assert series["cum_tokens"][1][-1] == float(sum(tokens))
    assert series["cum_ref_n2"][1] == [30, 60, 90]


def test_series_recompute_cumulative_sums_from_round_slices():
    """The live lab feeds one round at a time; cumulative curves must not depend on it."""
    ov = _over("complete", rounds=4)
    sliced = pl.concat([ov.filter(pl.col("round") == r).with_columns(cum_messages=pl.lit(-1, pl.Int64))
                        for r in (1, 2, 3, 4)])
    assert overhead_series(sliced, 6) == overhead_series(ov, 6)


def test_without_team_size_there_are_no_references():
    series = overhead_series(_over("ring"))
    assert series["ref_n"] == ([], []) and series["cum_ref_n2"] == ([], [])


def test_figure_layout_two_rows_tokens_on_secondary_axes():
    fig = overhead_figure(_over("complete"), 6)
    assert [t.name for t in fig.data] == [name for _, name, _, _ in OVERHEAD_TRACES]
    axes = {t.name: t.yaxis for t in fig.data}
    assert axes["messages / round"] == "y" and axes["tokens / round"] == "y2"
    assert axes["messages, cumulative"] == "y3" and axes["tokens, cumulative"] == "y4"


def test_several_runs_average_every_run_an_ended_one_sending_nothing():
    """Runs of 3 and 1 rounds on a complete graph of 6 (30 messages a round): the mean run
    sends 30, 15, 15 — the run that ended counts with 0 — and its bill is 30·3 + 30 over 2
    runs = 60 messages; the references stop where the shorter run stopped."""
    long = _over("complete", rounds=3).with_columns(run_id=pl.lit("long"))
    short = _over("complete", rounds=1).with_columns(run_id=pl.lit("short"))
    series = overhead_series(pl.concat([long, short]), 6)
    assert series["messages"] == ([1, 2, 3], [30.0, 15.0, 15.0])
    assert series["cum_messages"][1] == [30.0, 45.0, 60.0]
    assert series["ref_n2"] == ([1], [30])
