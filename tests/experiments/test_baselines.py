"""Baselines: compute-matched self-consistency and single members, seeded and offline."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import team
from llmteams_lab.errors import ArgumentError
from llmteams_lab.experiments import sweep
from llmteams_lab.experiments.baselines import baseline_rows, best_member, members
from llmteams_lab.spec import work_team


@pytest.mark.parametrize(("n", "protocol", "rounds"), [(3, "debate", 4), (7, "debate", 10), (10, "majority", 1),
                                                        (25, "quorum", 6)])
def test_self_consistency_spends_90_to_100_percent_of_the_team(n, protocol, rounds):
    df = sweep(team(n, protocol=protocol, max_rounds=rounds, competence=0.5), seeds=range(8), baselines=True)
    team_tokens = df.filter(pl.col("arm") == "team").select("seed", team=pl.col("tokens"))
    sc = df.filter(pl.col("arm") == "self_consistency").join(team_tokens, on="seed")
    ratio = sc["tokens"] / sc["team"]
    assert ((ratio >= 0.9) & (ratio <= 1.0)).all(), ratio.to_list()
    assert (sc["token_ratio"] == ratio).all() and (sc["samples"] == sc["team"] // 260).all()
    assert (sc["team"] - sc["tokens"] < sc["samples"]).all()  # the leftover lengthens every sample


def test_more_samples_make_a_better_majority_and_draws_are_seeded():
    spec = team(9, competence=0.6, max_rounds=6)
    rows = baseline_rows(spec.replace(seed=4), 20_000)
    assert rows == baseline_rows(spec.replace(seed=4), 20_000)
    df = sweep(spec, seeds=range(200), baselines=True)
    acc = df.group_by("arm").agg(pl.col("correct").mean())
    acc = dict(acc.iter_rows())
    assert acc["self_consistency"] > acc["member:a0"] + 0.2  # ~70 samples of a 0.6-competent agent


def test_best_member_and_distinct_profiles():
    spec = team(4, competence=0.5).replace(agents=[a.replace(competence=c) for a, c in
                                                   zip(team(4).agents, (0.5, 0.8, 0.8, 0.5))])
    assert best_member(spec).id == "a1"
    assert [a.id for a in members(spec)] == ["a0", "a1"]
    df = sweep(spec, seeds=range(3), baselines=True)
    assert df["arm"].unique(maintain_order=True).to_list() == ["team", "member:a0", "member:a1", "self_consistency"]


def test_baselines_need_a_question_with_an_answer():
    with pytest.raises(ArgumentError, match="'baselines' need a deliberation task"):
        sweep(work_team(3, p=0.5), seeds=[0], baselines=True)


def test_llm_members_sample_through_the_openai_client_against_serve():
    from tests.serve.servers import openai_team, serving

    with serving(competence=0.7, reply_tokens=30) as (server, url):
        spec = openai_team(url, 3, max_rounds=2, endpoint={"model": "gpt-4o-mini"})  # priced: costs known
        df = sweep(spec, seeds=[0, 1], baselines=True, max_cost_usd=10.0)
        requests = server.stats.requests
    team_rows = df.filter(pl.col("arm") == "team")
    sc = df.filter(pl.col("arm") == "self_consistency")
    member = df.filter(pl.col("arm") == "member:a0")
    assert team_rows["error"].null_count() == 2 and (team_rows["tokens"] > 0).all()
    assert (sc["samples"] >= 2).all() and (sc["tokens"] > 0).all() and sc["decided"].all()
    assert (member["samples"] == 1).all() and (member["rounds"] == 1).all()
    # every call went over HTTP: the teams' calls plus one per baseline sample
    assert requests >= team_rows["rounds"].sum() * 3 + sc["samples"].sum() + member["samples"].sum()
