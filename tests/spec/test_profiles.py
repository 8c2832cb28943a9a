"""Agent profiles: presets, a team's own profiles, mixes — applied, validated, round-tripped."""

from __future__ import annotations

import pytest

from llmteams_lab import SpecError, TeamSpec, team
from llmteams_lab.backends.pricing import DEFAULT_PRICES
from llmteams_lab.spec import AgentSpec, work_team
from llmteams_lab.spec.profiles import (
    PROFILE_FIELDS,
    PROFILES,
    ProfileSpec,
    apply_profile,
    parse_mix,
    profile_names,
)

MINE = {"name": "mine", "competence": 0.6, "latency_s": 2.0, "latency_jitter": 0.1, "prompt_tokens": 100,
        "tokens_per_message": 10, "reply_tokens": 20, "usd_per_mtok_in": 1.0, "usd_per_mtok_out": 2.0}


def test_a_preset_sets_every_field_it_names_and_wins_over_the_agents_own() -> None:
    agent = AgentSpec(id="a0", profile="strong-slow", competence=0.1, latency_s=0.5, conformity=0.9)
    preset = PROFILES["strong-slow"]
    for name in PROFILE_FIELDS:
        assert getattr(agent, name) == getattr(preset, name), name
    assert agent.model == "gpt-4o"
    assert agent.conformity == 0.9  # not a profile field: the agent's own
    assert agent.replace(latency_s=99.0).latency_s == preset.latency_s  # still the profile's


def test_preset_prices_are_the_price_tables_for_their_model() -> None:
    for p in PROFILES.values():
        if p.model is None:
            assert (p.usd_per_mtok_in, p.usd_per_mtok_out) == (0.0, 0.0)
            continue
        price = DEFAULT_PRICES.get(p.model)
        assert (p.usd_per_mtok_in, p.usd_per_mtok_out) == (price.input_per_mtok, price.output_per_mtok), p.name


def test_a_mix_gives_agents_their_profiles_in_order_and_round_trips() -> None:
    spec = team(5).replace(mix={"strong-slow": 1, "cheap-fast": 4})
    assert [a.profile for a in spec.agents] == ["strong-slow"] + ["cheap-fast"] * 4
    assert [a.latency_s for a in spec.agents] == [8.0, 1.0, 1.0, 1.0, 1.0]
    assert spec.to_dict()["mix"] == {"strong-slow": 1, "cheap-fast": 4}
    for again in (TeamSpec.from_toml(spec.to_toml()), TeamSpec.from_json(spec.to_json())):
        assert again == spec and again.fingerprint() == spec.fingerprint()
    # a mix alone sizes the team; a sweep changes the team by changing one value
    built = TeamSpec.from_dict({"mix": {"balanced": 2, "cheap-fast": 1}})
    assert built.ids == ("a0", "a1", "a2") and built.agents[2].profile == "cheap-fast"
    other = spec.replace(mix={"balanced": 5})
    assert {a.profile for a in other.agents} == {"balanced"}


def test_a_teams_own_profile_is_applied_and_kept_in_the_spec() -> None:
    spec = TeamSpec.from_dict({"size": 2, "agent": {"profile": "mine"}, "profiles": [MINE]})
    assert [a.latency_s for a in spec.agents] == [2.0, 2.0]
    assert spec.agents[0].usd_per_mtok_in == 1.0 and spec.agents[0].model is None
    assert TeamSpec.from_toml(spec.to_toml()) == spec
    assert "profiles" not in team(2).to_dict()  # absent while empty: existing specs keep their run ids
    assert profile_names(spec.profiles) == sorted([*PROFILES, "mine"])


def test_specs_without_profiles_keep_their_dicts() -> None:
    data = team(3).agents[0].to_dict()
    assert not {"profile", "usd_per_mtok_in", "usd_per_mtok_out"} & set(data)


def test_apply_profile_and_work_team_take_a_profile() -> None:
    agent = apply_profile(AgentSpec(id="x"), "cheap-fast")
    assert agent.profile == "cheap-fast" and agent.latency_s == 1.0
    custom = ProfileSpec.from_dict(MINE)
    assert apply_profile(AgentSpec(id="x"), custom).reply_tokens == 20
    spec = work_team(3, profile="balanced")
    assert {a.latency_s for a in spec.agents} == {PROFILES["balanced"].latency_s}


def test_parse_mix_reads_the_one_line_forms() -> None:
    assert parse_mix("strong-slow:1, cheap-fast:4") == {"strong-slow": 1, "cheap-fast": 4}
    assert parse_mix("strong-slow, cheap-fast*4") == {"strong-slow": 1, "cheap-fast": 4}
    with pytest.raises(SpecError, match=r"'mix' must be 'profile:count"):
        parse_mix("strong-slow:x")
    with pytest.raises(SpecError, match="must name each profile once"):
        parse_mix("a:1, a:2")


PRESETS = "['balanced', 'cheap-fast', 'local-free', 'reasoning-slow', 'strong-slow']"


@pytest.mark.parametrize(("data", "message"), [
    ({"size": 1, "profiles": [{k: v for k, v in MINE.items() if k != "latency_s"}]},
     "'profiles[0].latency_s' is required"),
    ({"size": 1, "profiles": [{k: v for k, v in MINE.items() if k != "usd_per_mtok_out"}]},
     "'profiles[0].usd_per_mtok_out' is required"),
    ({"size": 1, "profiles": [{**MINE, "latency_s": -1}]}, "'profiles[0].latency_s' must be a number >= 0 (got -1)"),
    ({"size": 1, "profiles": [{**MINE, "name": "cheap-fast"}]},
     f"'profiles[0].name' must not be a preset's name {PRESETS} (give your profile its own name) (got 'cheap-fast')"),
    ({"size": 1, "profiles": [MINE, MINE]}, "'profiles[1].name' must be unique among the team's profiles (got 'mine')"),
    ({"size": 2, "agent": {"profile": "fast"}}, f"'agents[0].profile' must be one of {PRESETS} (got 'fast')"),
    ({"size": 3, "mix": {"strong-slow": 2}}, "'mix' must have counts summing to the team size 3 (got {'strong-slow': 2})"),
    ({"size": 2, "mix": {"strong-slow": 1, "nope": 1}}, f"'mix.nope' must be one of {PRESETS} (got 'nope')"),
    ({"size": 2, "mix": {"strong-slow": 0, "balanced": 2}}, "'mix.strong-slow' must be an integer >= 1 (got 0)"),
    ({"size": 2, "mix": 3}, "'mix' must be a table of profile name -> agent count (got 3)"),
    ({"size": 1, "agent": {"usd_per_mtok_in": -0.5}}, "'agents[0].usd_per_mtok_in' must be a number >= 0 (got -0.5)"),
])
def test_bad_profiles_name_the_field(data: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        TeamSpec.from_dict(data)
    assert str(err.value) == message
