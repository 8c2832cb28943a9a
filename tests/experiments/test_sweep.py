"""Sweeps: rows per design × seed, paired seeds, executors that agree, errors."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import FaultSpec, SpecError, team
from llmteams_lab.errors import ArgumentError, BudgetExceededError
from llmteams_lab.experiments import sweep

GRID = {"topology.kind": ["star", "complete"],
        "faults": {"none": [], "10% drop": [FaultSpec(kind="drop", probability=0.1)]}}


def test_rows_cover_designs_times_seeds_and_show_the_jury_theorem():
    df = sweep(team(3, protocol="majority", competence=0.65), {"n": [1, 15]}, seeds=range(60))
    assert df.height == 2 * 60 and df["arm"].unique().to_list() == ["team"]
    assert set(df.columns) >= {"n", "design", "seed", "run_id", "correct", "rounds", "messages", "tokens", "reason"}
    acc = dict(df.group_by("n").agg(pl.col("correct").mean()).iter_rows())
    assert acc[15] > acc[1]  # majority of 15 independent 0.65-competent voters beats one
    assert dict(df.group_by("n").agg(pl.col("messages").max()).iter_rows()) == {1: 0, 15: 15 * 14}


def test_grid_over_a_fault_scenario_and_a_nested_path_with_paired_seeds():
    df = sweep(team(6, competence=0.5, max_rounds=4), GRID, seeds=range(5))
    assert df.height == 4 * 5
    assert df.select("topology.kind", "faults").unique(maintain_order=True).rows() == [
        ("star", "none"), ("star", "10% drop"), ("complete", "none"), ("complete", "10% drop")]
    drops = df.group_by("faults").agg(pl.col("dropped").sum(), pl.col("faults_applied").sum())
    assert dict(drops.select("faults", "dropped").iter_rows()) ["none"] == 0
    assert dict(drops.select("faults", "dropped").iter_rows())["10% drop"] > 0
    # paired seeds: round 1 is answered before any message, so every design sees the same first answers
    first = df.pivot(on=["topology.kind", "faults"], index="seed", values="accuracy_first")
    assert all(len(set(row[1:])) == 1 for row in first.rows())


def test_worker_processes_give_the_same_table_as_in_process():
    local = sweep(team(5, competence=0.5), GRID, seeds=range(6), baselines=True)
    pooled = sweep(team(5, competence=0.5), GRID, seeds=range(6), baselines=True, workers=2, batch_size=2)
    assert local.equals(pooled)


def test_a_failing_design_is_a_row_not_a_crash():
    policy = {"stop": {"on_error": "stop"}}
    df = sweep(team(3, max_rounds=3).replace(faults=[FaultSpec(kind="timeout", agent="a1")]),
               {"failure_policy": policy}, seeds=[0, 1])
    assert df["reason"].to_list() == ["failure_policy_stop"] * 2 and df["decision"].is_null().all()
    assert df["error"].str.starts_with("RunFailedError: round 1: a1").all()


def test_unknown_executor_and_bad_arguments_are_refused():
    with pytest.raises(ArgumentError) as err:
        sweep(team(2), {}, seeds=[0], executor="dask")
    assert str(err.value) == "'executor' must be one of ['local', 'ray'] (got 'dask')"
    with pytest.raises(ArgumentError, match="'workers' must be an integer >= 1"):
        sweep(team(2), seeds=[0], workers=0)
    with pytest.raises(ArgumentError, match="'seeds' must be a non-empty list of distinct integers"):
        sweep(team(2), seeds=[1, 1])
    with pytest.raises(ArgumentError, match="'ray_address' needs executor='ray'"):
        sweep(team(2), seeds=[0], ray_address="127.0.0.1:6379")
    with pytest.raises(SpecError, match="'protocol.kind' must be one of"):
        sweep(team(2), {"protocol.kind": ["debate", "vote"]}, seeds=[0])


def test_an_llm_sweep_above_the_cost_threshold_needs_a_yes():
    spec = team(3, backend="openai", max_rounds=2, endpoint={"base_url": "http://127.0.0.1:9/v1",
                                                            "model": "gpt-4o-mini", "max_tokens": 100})
    said: list[str] = []
    with pytest.raises(BudgetExceededError, match=r"could spend up to \$.*pass yes=True"):
        sweep(spec, seeds=range(3), max_cost_usd=0.0, say=said.append)
    assert said and said[0].startswith("worst case for 3 LLM-backed run(s):")
    tokens = int(said[0].split(": ")[1].split(" tokens")[0].replace(",", ""))
    assert tokens >= 3 * 2 * 3 * 100  # runs × rounds × agents × completion cap, plus prompts


def test_fast_logging_gives_the_same_table_as_each_spec_s_own():
    base = team(6, competence=0.45, max_rounds=5)
    grid = {"protocol.kind": ["debate", "majority", "quorum", "weighted"],
            "faults": {"none": [], "liar": [FaultSpec(kind="byzantine", agent="a0")],
                       "crash": [FaultSpec(kind="crash", agent="a2", at_round=2)],
                       "slow": [FaultSpec(kind="straggler", agent="a1", factor=3.0)],
                       "timeouts": [FaultSpec(kind="timeout", probability=0.3)]}}
    fast = sweep(base, grid, seeds=range(4), baselines=True)
    assert fast.equals(sweep(base, grid, seeds=range(4), baselines=True, logging="spec"))
    assert fast.filter(pl.col("faults") == "timeouts")["failures"].sum() > 0
    assert fast["run_id"][0] == f"team-{base.replace(protocol={'kind': 'debate'}).fingerprint()}"


def test_the_execution_model_is_a_grid_key_and_fast_logging_holds_for_both():
    base = team(6, competence=0.45, max_rounds=5)
    grid = {"execution": ["synchronous", "asynchronous"], "protocol.kind": ["debate", "quorum"],
            "faults": {"none": [], "liar": [FaultSpec(kind="byzantine", agent="a0")],
                       "crash": [FaultSpec(kind="crash", agent="a2", at_round=2)]}}
    fast = sweep(base, grid, seeds=range(4))
    assert fast.equals(sweep(base, grid, seeds=range(4), logging="spec"))
    by_model = fast.group_by("execution").agg(pl.col("clock_s").sum())
    assert by_model.height == 2 and by_model["clock_s"].n_unique() == 2  # the two models differ


def test_an_in_process_sweep_runs_inside_a_running_event_loop_as_in_a_notebook():
    import asyncio

    async def in_a_kernel():
        return sweep(team(3, max_rounds=3), {"n": [2, 3]}, seeds=range(3))

    assert asyncio.run(in_a_kernel()).equals(sweep(team(3, max_rounds=3), {"n": [2, 3]}, seeds=range(3)))
