"""Sweeps: grid expansion, variant building, determinism across executors."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import SpecError, team
from llmteams_lab.experiments import sweep, variant


def test_variant_resizes_team_from_first_agent_profile():
    base = team(3, competence=0.8, conformity=0.2)
    spec = variant(base, n=6, conformity=0.9, topology="ring", max_rounds=4)
    assert spec.ids == ("a0", "a1", "a2", "a3", "a4", "a5")
    assert {a.competence for a in spec.agents} == {0.8}
    assert {a.conformity for a in spec.agents} == {0.9}
    assert spec.topology.kind == "ring" and spec.budgets.max_rounds == 4


def test_variant_keeps_the_leader_role_for_the_leader_protocol():
    spec = variant(team(3, protocol="leader", topology="star"), n=5)
    assert [a.role for a in spec.agents] == ["leader", "member", "member", "member", "member"]


def test_unknown_grid_key_is_a_spec_error():
    with pytest.raises(SpecError) as err:
        variant(team(3), colour="red")
    assert str(err.value).startswith("'grid' keys must be n, topology, protocol")


def test_invalid_value_in_grid_names_the_field():
    with pytest.raises(SpecError) as err:
        sweep(team(3), {"competence": [0.5, 1.5]}, seeds=[0])
    assert str(err.value) == "'competence' must be in [0, 1] (got 1.5)"


def test_sweep_rows_cover_grid_times_seeds_and_show_the_jury_theorem():
    df = sweep(team(3, protocol="majority", competence=0.65), {"n": [1, 15]}, seeds=range(60))
    assert df.height == 2 * 60
    assert set(df.columns) >= {"n", "seed", "correct", "rounds", "messages", "tokens", "reason"}
    acc = dict(df.group_by("n").agg(pl.col("correct").mean()).iter_rows())
    assert acc[15] > acc[1]  # majority of 15 independent 0.65-competent voters beats one
    messages = dict(df.group_by("n").agg(pl.col("messages").max()).iter_rows())
    assert messages == {1: 0, 15: 15 * 14}


def test_worker_processes_give_the_same_rows_as_in_process():
    grid = {"topology": ["star", "complete"]}
    local = sweep(team(5, competence=0.5), grid, seeds=range(4))
    pooled = sweep(team(5, competence=0.5), grid, seeds=range(4), workers=2)
    assert local.equals(pooled)


def test_unknown_executor_is_refused():
    with pytest.raises(SpecError) as err:
        sweep(team(2), {}, seeds=[0], executor="dask")
    assert str(err.value) == "'executor' must be one of ['local', 'ray'] (got 'dask')"
