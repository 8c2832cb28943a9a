"""Design analytics on sweep tables: summaries, pairs, baselines, fronts, exponents."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import team
from llmteams_lab.errors import ArgumentError
from llmteams_lab.experiments import sweep
from llmteams_lab.metrics import (
    baseline_gains,
    design_summary,
    label_columns,
    paired_differences,
    pareto_front,
    scaling_exponents,
)


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return sweep(team(5, competence=0.55, max_rounds=5), {"n": [3, 9], "topology.kind": ["star", "complete"]},
                 seeds=range(30), baselines=True)


def test_summary_has_an_interval_around_every_rate(table):
    s = design_summary(table, arm="team")
    assert label_columns(table) == ["n", "topology.kind"] and s.height == 4
    assert (s["accuracy_low"] <= s["accuracy"]).all() and (s["accuracy"] <= s["accuracy_high"]).all()
    assert (s["tokens_low"] <= s["tokens"]).all() and (s["tokens"] <= s["tokens_high"]).all()
    first = table.filter((pl.col("design") == s["design"][0]) & (pl.col("arm") == "team"))
    assert s["accuracy"][0] == first["correct"].fill_null(False).mean()


def test_paired_differences_are_zero_against_a_copy_and_signed(table):
    ref = {"n": 3, "topology.kind": "star"}
    diffs = paired_differences(table, ref)
    assert diffs.height == 3 and (diffs["pairs"] == 30).all()
    star3 = table.filter((pl.col("n") == 3) & (pl.col("topology.kind") == "star"))
    copy = star3.with_columns(n=pl.lit(4, pl.Int64), design=pl.lit("copy"))
    row = paired_differences(table.vstack(copy), ref).filter(pl.col("design") == "copy").row(0, named=True)
    assert (row["difference"], row["low"], row["high"]) == (0.0, 0.0, 0.0)
    complete3 = diffs.filter((pl.col("n") == 3) & (pl.col("topology.kind") == "complete"))["difference"][0]
    team = table.filter(pl.col("arm") == "team")
    acc = lambda kind: team.filter((pl.col("n") == 3) & (pl.col("topology.kind") == kind))[  # noqa: E731
        "correct"].fill_null(False).mean()
    assert complete3 == pytest.approx(acc("complete") - acc("star"))
    with pytest.raises(ArgumentError, match="'reference' must pick exactly one design"):
        paired_differences(table, {"n": 3})


def test_baseline_gains_pair_by_seed_and_pick_the_best_member(table):
    gains = baseline_gains(table)
    assert gains.height == 4 and set(gains["best_member"]) == {"a0"}
    assert ((gains["token_ratio"] > 0.9) & (gains["token_ratio"] <= 1.0)).all()
    row = gains.row(0, named=True)
    assert row["gain_vs_self_consistency"] == pytest.approx(row["team_accuracy"] - row["self_consistency_accuracy"])
    with pytest.raises(ArgumentError, match="run the sweep with baselines=True"):
        baseline_gains(table.filter(pl.col("arm") == "team"))


def test_pareto_front_marks_only_undominated_points():
    s = pl.DataFrame({"accuracy": [0.9, 0.8, 0.9, 0.95], "tokens": [100, 50, 200, 300], "clock_s": [1, 1, 1, 1]})
    assert pareto_front(s)["pareto"].to_list() == [True, True, False, True]


def test_scaling_exponent_of_an_exact_power_law():
    t = pl.DataFrame({"n": [2, 4, 8, 16] * 2, "messages": [3 * n ** 2 for n in (2, 4, 8, 16)] * 2,
                      "kind": ["a"] * 4 + ["b"] * 4})
    fit = scaling_exponents(t, "n", "messages", by="kind")
    assert fit["exponent"].to_list() == pytest.approx([2.0, 2.0]) and fit["factor"][0] == pytest.approx(3.0)
    assert fit["r2"][0] == pytest.approx(1.0)
