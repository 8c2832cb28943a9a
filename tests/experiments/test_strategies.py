"""Retries, compensation and voting side by side: real runs of each under the same seeded
faults, and the table the comparison is read from."""

from __future__ import annotations

import json

import polars as pl
import pytest

from llmteams_lab.errors import ArgumentError
from llmteams_lab.experiments.strategies import STRATEGIES, compare_strategies, strategy_spec, strategy_table
from llmteams_lab.runtime import run_sync

SEEDS = 12


@pytest.fixture(scope="module")
def runs() -> pl.DataFrame:
    return compare_strategies(SEEDS)


def _of(runs: pl.DataFrame, strategy: str, faults: bool) -> pl.DataFrame:
    return runs.filter((pl.col("strategy") == strategy) & (pl.col("faults") == faults)).sort("seed")


def test_every_strategy_runs_every_seed_with_and_without_the_faults(runs) -> None:
    assert runs.height == len(STRATEGIES) * SEEDS * 2
    assert runs["run_id"].n_unique() == runs.height
    faulty = runs.filter(pl.col("faults"))
    assert faulty["failed_calls"].sum() > 0 and runs.filter(~pl.col("faults"))["failed_calls"].sum() == 0


def test_without_handling_the_faults_leave_half_done_outputs(runs) -> None:
    none = _of(runs, "none", True)
    assert none["half_done"].any() and not _of(runs, "none", False)["half_done"].any()
    assert (none.filter(pl.col("half_done"))["outcome"] == "partial").all()


def test_compensation_leaves_no_half_committed_output(runs) -> None:
    saga = _of(runs, "compensation", True)
    assert not saga["half_done"].any() and (saga["left_in_effect"] == 0).all()
    aborted = saga.filter(pl.col("outcome") == "aborted")
    assert aborted.height > 0 and aborted["compensations"].sum() > 0  # there was completed work to undo
    assert (aborted["parts_out"] == 0).all()
    assert (saga.filter(pl.col("outcome") == "committed")["parts_out"] == 3).all()


def test_retries_complete_the_output_and_pay_for_it_in_tokens_and_time(runs) -> None:
    retried, clean = _of(runs, "retries", True), _of(runs, "retries", False)
    assert retried["retried_calls"].sum() > 0
    assert retried["complete"].all()  # 3 retries at p = 0.2: every part arrives on these seeds
    assert retried["tokens"].sum() > clean["tokens"].sum()
    assert (retried["tokens"] >= clean["tokens"]).all()
    assert retried["end_s"].sum() > clean["end_s"].sum()  # back-off and failed attempts take time


def test_voting_pays_for_its_replicas(runs) -> None:
    single, voted = _of(runs, "none", False), _of(runs, "voting", False)
    assert voted["tokens"].mean() > 2 * single["tokens"].mean()


def test_the_table_is_the_runs_summed_up(runs) -> None:
    table = strategy_table(runs)
    assert table["strategy"].to_list() == list(STRATEGIES)
    for row in table.iter_rows(named=True):
        faulty, clean = _of(runs, row["strategy"], True), _of(runs, row["strategy"], False)
        assert row["runs"] == SEEDS
        assert row["success"] == pytest.approx(faulty["success"].mean())
        assert row["half_done"] == pytest.approx(faulty["half_done"].mean())
        assert row["tokens"] == pytest.approx(faulty["tokens"].mean())
        assert row["tokens_fault_free"] == pytest.approx(clean["tokens"].mean())
        assert row["seconds"] == pytest.approx(faulty["end_s"].mean())
    success = table.filter(pl.col("strategy") == "retries")["success"][0]
    assert success == pytest.approx(_of(runs, "retries", True).select(
        (pl.col("complete") & pl.col("correct")).mean()).item())


def test_a_failed_call_fails_its_step_and_says_so() -> None:
    events = run_sync(strategy_spec("compensation", seed=0, failure_probability=1.0)).events
    failed = events.filter(pl.col("kind") == "StepFailed")
    assert failed.height > 0
    assert {json.loads(d)["reason"] for d in failed["detail"].to_list()} == {"its call failed"}


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ArgumentError, match=r"'strategy' must be one of \['none', 'retries', 'compensation', "
                                            r"'voting'\] \(got 'pray'\)"):
        strategy_spec("pray")
    with pytest.raises(ArgumentError, match="'strategies' and seeds must name at least one of each"):
        compare_strategies(0)
