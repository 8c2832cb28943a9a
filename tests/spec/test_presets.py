"""Every preset shows what its explanation says (seeded, so the lesson never lies)."""

from __future__ import annotations

from collections import Counter

import polars as pl

from llmteams_lab import Run, TeamSpec
from llmteams_lab.spec.presets import PRESETS
from tests.support import aio


async def _run(key: str):
    async with Run(PRESETS[key].spec) as run:
        states = []
        while not run.done:
            await run.step()
            states.append({a: s["answer"] for a, s in run.state().items()})
        return run.result(), states


def test_presets_are_specs_with_a_title_and_an_explanation_and_round_trip_through_toml():
    assert set(PRESETS) == {"byzantine_3f", "byzantine_3f1", "split_brain", "straggler", "leader_crash",
                            "retry_storm"}
    for key, preset in PRESETS.items():
        assert preset.key == key and preset.title and len(preset.explanation) > 120
        assert TeamSpec.from_toml(preset.spec.to_toml()) == preset.spec
        assert all(a.backend == "simulated" for a in preset.spec.agents), "offline"


@aio
async def test_byzantine_generals_fail_at_n_3f_and_hold_at_3f_plus_1():
    three, _ = await _run("byzantine_3f")
    four, _ = await _run("byzantine_3f1")
    assert three.correct is not True, "with n = 3f the truth cannot gather a quorum of 2f + 1"
    assert four.correct is True and four.decision is not None


@aio
async def test_split_brain_holds_two_answers_until_the_partition_heals():
    result, states = await _run("split_brain")
    side = lambda st, ids: Counter(st[a] for a in ids).most_common(1)[0]  # noqa: E731
    left, right = side(states[6], ("a0", "a1", "a2")), side(states[6], ("a3", "a4", "a5"))
    assert left[0] != right[0] and left[1] == right[1] == 3, (left, right)
    assert len(set(states[-1].values())) == 1, "healed: one answer again"


@aio
async def test_the_straggler_sets_the_length_of_every_round():
    result, _ = await _run("straggler")
    ev = result.events
    rounds = ev.filter(pl.col("kind") == "RoundEnded").select(d=pl.col("t_end") - pl.col("t_start"))["d"]
    replies = ev.filter(pl.col("kind") == "AgentReplied").with_columns(lat=pl.col("t_end") - pl.col("t_start"))
    slow = replies.filter(pl.col("agent") == "a2")["lat"]
    fast = replies.filter(pl.col("agent") != "a2")["lat"]
    assert slow.min() > 4 * fast.max() and (rounds >= slow.min()).all()


@aio
async def test_a_crashed_leader_leaves_the_team_without_a_decision():
    result, states = await _run("leader_crash")
    assert result.decision is None and states[-1]["a1"] is not None


@aio
async def test_a_rate_limited_endpoint_causes_a_retry_storm():
    result, _ = await _run("retry_storm")
    kinds = result.events["kind"].to_list()
    assert kinds.count("AgentRetried") > len(PRESETS["retry_storm"].spec.agents) * 3
    assert result.rounds == PRESETS["retry_storm"].spec.budgets.max_rounds
