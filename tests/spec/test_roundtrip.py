"""Specs round-trip exactly through dict, JSON and TOML, and edit with ``replace``."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from llmteams_lab import SpecError, TeamSpec, team
from llmteams_lab.spec import AgentSpec, Budgets, ProtocolSpec, TaskSpec, TopologySpec


def _rich_spec() -> TeamSpec:
    """Every kind of field: explicit directed edges, a custom task, optional budgets, odd text."""
    agents = (
        AgentSpec("lead", role="leader", competence=0.9, latency_s=2.5, model="gpt-x", temperature=0.2,
                  persona='Says "hi"\n\tand\x7f \\ quotes — ünïcode'),
        AgentSpec("b", conformity=0.0, backend="mock", prompt_tokens=0),
        AgentSpec("c-3", competence=1, calibration=0.25, latency_jitter=0.0),
    )
    return TeamSpec(
        agents=agents,
        topology=TopologySpec(kind="edges", edges=(("lead", "b"), ("b", "c-3"), ("c-3", "lead")), directed=True),
        protocol=ProtocolSpec(kind="quorum", quorum=2, stop_at_consensus=False),
        task=TaskSpec(kind="custom", prompt="Capital of France?", choices=("Paris", "Lyon", "Nice"), answer="Paris"),
        budgets=Budgets(max_rounds=7, max_tokens=10_000, max_cost_usd=1.5, max_wall_s=60),
        seed=2**40, name="rich team", concurrency=3, logging="rounds",
    )


SPECS = {
    "default": team(5),
    "rich": _rich_spec(),
    "leader": team(4, topology="star", protocol="leader", seed=3),
    "small_world": team(8, topology="small_world", seed=1).replace(topology={"kind": "small_world", "k": 2, "p": 0.5}),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_dict_json_toml_round_trips_are_exact(name: str) -> None:
    spec = SPECS[name]
    assert TeamSpec.from_dict(spec.to_dict()) == spec
    assert TeamSpec.from_json(spec.to_json()) == spec
    assert TeamSpec.from_json(spec.to_json(indent=2)) == spec
    toml_text = spec.to_toml()
    again = TeamSpec.from_toml(toml_text)
    assert again == spec
    assert again.to_toml() == toml_text
    assert again.fingerprint() == spec.fingerprint()


def test_toml_is_plain_toml_with_explicit_edges_and_custom_task() -> None:
    data = tomllib.loads(_rich_spec().to_toml())
    assert data["topology"] == {"kind": "edges", "branching": 2, "p": 0.3, "k": 4,
                                "edges": [["lead", "b"], ["b", "c-3"], ["c-3", "lead"]], "directed": True}
    assert data["task"]["choices"] == ["Paris", "Lyon", "Nice"]
    assert data["agents"][0]["persona"] == 'Says "hi"\n\tand\x7f \\ quotes — ünïcode'
    assert "leader" not in data["topology"]  # None is left out: TOML has no null


def test_size_shorthand_expands_to_identical_agents() -> None:
    spec = TeamSpec.from_toml('seed = 4\nsize = 3\n[agent]\ncompetence = 0.7\n[topology]\nkind = "ring"\n')
    assert spec.ids == ("a0", "a1", "a2")
    assert {a.competence for a in spec.agents} == {0.7}
    assert spec == team(3, topology="ring", competence=0.7, seed=4).replace(
        task=TaskSpec(), budgets=Budgets(), protocol=ProtocolSpec())


def test_replace_validates_and_leaves_the_original_untouched() -> None:
    spec = team(3)
    edited = spec.replace(seed=9, budgets={"max_rounds": 2})
    assert (edited.seed, edited.budgets.max_rounds) == (9, 2)
    assert (spec.seed, spec.budgets.max_rounds) == (0, 10)
    with pytest.raises(SpecError):
        spec.replace(concurrency=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 3  # type: ignore[misc]


def test_fingerprint_depends_on_every_field() -> None:
    base = team(3)
    assert base.fingerprint() == team(3).fingerprint()
    assert len({base.fingerprint(), base.replace(seed=1).fingerprint(),
                base.replace(logging="rounds").fingerprint()}) == 3
