"""Grids: any spec path, shorthands, named scenarios, and the spec's own errors."""

from __future__ import annotations

import pytest

from llmteams_lab import FaultSpec, SpecError, TeamSpec, team
from llmteams_lab.experiments import designs, set_path, variant
from llmteams_lab.experiments.grid import resize
from llmteams_lab.spec.roster import Roster


def test_nested_paths_and_every_agent_or_one_agent():
    base = team(3)
    assert [a.competence for a in set_path(base, "agents[*].competence", 0.9).agents] == [0.9, 0.9, 0.9]
    assert [a.competence for a in set_path(base, "agents[1].competence", 0.9).agents] == [0.6, 0.9, 0.6]
    assert set_path(base, "protocol.quorum", 2).protocol.quorum == 2
    assert set_path(base, "budgets.max_rounds", 4).budgets.max_rounds == 4
    assert set_path(base, "endpoint.model", "m-1").endpoint.model == "m-1"  # created from None


def test_shorthands_resize_and_keep_the_leader_role():
    spec = variant(team(3, competence=0.8), n=6, conformity=0.9, topology="ring", max_rounds=4)
    assert spec.ids == ("a0", "a1", "a2", "a3", "a4", "a5")
    assert {a.competence for a in spec.agents} == {0.8} and {a.conformity for a in spec.agents} == {0.9}
    assert spec.topology.kind == "ring" and spec.budgets.max_rounds == 4
    leader = variant(team(3, protocol="leader", topology="star"), n=5)
    assert [a.role for a in leader.agents] == ["leader"] + ["member"] * 4


def test_resizing_a_mixed_team_keeps_its_proportions():
    base = team(5, mix={"strong-slow": 1, "cheap-fast": 4})
    ten = variant(base, n=10)
    assert ten.mix == (("strong-slow", 2), ("cheap-fast", 8)) and len(ten.agents) == 10
    assert [a.profile for a in ten.agents] == ["strong-slow"] * 2 + ["cheap-fast"] * 8
    assert variant(base, n=7).mix == (("strong-slow", 1), ("cheap-fast", 6))
    assert variant(base, n=2).mix == (("strong-slow", 1), ("cheap-fast", 1))  # every profile kept once
    with pytest.raises(SpecError, match=r"'n' must be at least the mix's 2 profiles .*\(got 1\)"):
        variant(base, n=1)
    found = designs(base, {"n": [3, 9]})
    assert [sum(c for _, c in d.spec.mix) for d in found] == [3, 9]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("agents[*].competence", 1.5, "'agents[0].competence' must be in [0, 1] (got 1.5)"),
    ("competence", 1.5, "'agents[0].competence' must be in [0, 1] (got 1.5)"),
    ("topology.knd", "ring", "'topology.knd' is not a known field; expected one of"),
    ("colour", "red", "'colour' is not a known field; expected one of"),
    ("agents[7].competence", 0.5, "'agents[7]' is out of range: 'agents' has 3 item(s)"),
    ("budgets.max_rounds.x", 1, "'budgets.max_rounds' is not a table"),
    ("topology..kind", "ring", "'topology..kind' is not a spec path"),
    ("n", 0, "'n' must be an integer in [1, 10000000] (got 0)"),
])
def test_bad_grid_keys_and_values_name_the_path(key, value, message):
    with pytest.raises(SpecError) as err:
        designs(team(3), {key: [value]})
    assert str(err.value).startswith(message)


def test_grid_errors_about_the_grid_itself():
    with pytest.raises(SpecError, match=r"'grid\['seed'\]' must not be a grid key"):
        designs(team(3), {"seed": [1, 2]})
    with pytest.raises(SpecError, match=r"'grid\['faults'\]' must be a mapping of names"):
        designs(team(3), {"faults": [[]]})
    with pytest.raises(SpecError, match=r"'grid\['n'\]' must hold at least one value"):
        designs(team(3), {"n": []})
    with pytest.raises(SpecError, match=r"'grid\['n'\]' must not repeat a value"):
        designs(team(3), {"n": [3, 3]})


def test_fault_scenarios_are_named_and_sized_after_n():
    liar = [FaultSpec(kind="byzantine", agent="a4")]  # a4 exists only once n = 5 is applied
    found = designs(team(3), {"faults": {"none": [], "liar@a4": liar}, "n": [5, 7]})
    assert [d.labels for d in found] == [{"faults": "none", "n": 5}, {"faults": "none", "n": 7},
                                         {"faults": "liar@a4", "n": 5}, {"faults": "liar@a4", "n": 7}]
    assert found[2].spec.faults == tuple(liar) and len(found[3].spec.agents) == 7
    assert len({d.key for d in found}) == 4 and all(d.spec.seed == 0 for d in found)


def test_failure_policies_and_table_values_get_labels():
    found = designs(team(3), {"failure_policy": {"skip": {}, "retry": {"on_error": "retry", "retries": 1}},
                              "topology": [{"kind": "ring"}]})
    assert found[1].spec.failure_policy.on_error == "retry"
    assert found[0].labels["topology"] == '{"kind": "ring"}'


def test_resizing_and_editing_a_generated_team_keeps_it_one_template() -> None:
    grown = resize(team(3, competence=0.8), 5)
    assert isinstance(grown.agents, Roster) and [a.id for a in grown.agents] == ["a0", "a1", "a2", "a3", "a4"]
    assert grown.to_json() == team(5, competence=0.8).to_json()
    big = TeamSpec.from_dict({"size": 100_001, "logging": "rounds", "topology": {"kind": "ring"}})
    edited = set_path(big, "max_rounds", 3)  # not an agent field: the team stays size + agent
    assert edited.budgets.max_rounds == 3 and isinstance(edited.agents, Roster) and len(edited.agents) == 100_001
