"""Every bad spec input raises SpecError (also a ValueError) with the exact message."""

from __future__ import annotations

import dataclasses

import pytest

from llmteams_lab import SpecError, TeamSpec, team
from llmteams_lab.spec import AgentSpec, Budgets, TopologySpec


def field_names(cls: type) -> str:
    """The sorted field list an unknown-field error quotes (computed: specs gain fields)."""
    return str(sorted(f.name for f in dataclasses.fields(cls)))


TOPOLOGIES = "['complete', 'edges', 'erdos_renyi', 'ring', 'small_world', 'star', 'tree']"
TEAM_FIELDS = field_names(TeamSpec)
AGENT_FIELDS = field_names(AgentSpec)


def spec_from(**fields) -> TeamSpec:
    return TeamSpec.from_dict({"size": 3, **fields})


CASES = [
    # (label, builder, exact message)
    ("unknown topology", lambda: team(3, topology="hexagon"),
     f"'topology.kind' must be one of {TOPOLOGIES} (got 'hexagon')"),
    ("unknown protocol", lambda: team(3, protocol="raft"),
     "'protocol.kind' must be one of ['debate', 'leader', 'majority', 'quorum', 'weighted'] (got 'raft')"),
    ("edge names an unknown agent", lambda: spec_from(topology={"kind": "edges", "edges": [["a0", "zz"]]}),
     "'topology.edges[0]' must name agents of the team ['a0', 'a1', 'a2'] (got ['a0', 'zz'])"),
    ("edge is not a pair", lambda: spec_from(topology={"kind": "edges", "edges": [["a0"]]}),
     "'topology.edges[0]' must be a pair of agent ids (got ('a0',))"),
    ("edges not a list", lambda: spec_from(topology={"kind": "edges", "edges": 5}),
     "'topology.edges' must be a list of [from, to] pairs (got 5)"),
    ("leader absent from the team", lambda: spec_from(topology={"kind": "star", "leader": "bob"}),
     "'topology.leader' must be an agent of the team ['a0', 'a1', 'a2'] (got 'bob')"),
    ("leader protocol off a star", lambda: team(3, protocol="leader", topology="ring"),
     "'topology.kind' must be 'star' for the leader protocol (got 'ring')"),
    ("two leaders", lambda: TeamSpec.from_dict({
        "agents": [{"id": "a", "role": "leader"}, {"id": "b", "role": "leader"}],
        "topology": {"kind": "star"}, "protocol": {"kind": "leader"}}),
     "'agents' must hold at most one agent with role 'leader' (got ['a', 'b'])"),
    ("star hub is not the leader", lambda: TeamSpec.from_dict({
        "agents": [{"id": "a", "role": "leader"}, {"id": "b"}],
        "topology": {"kind": "star", "leader": "b"}, "protocol": {"kind": "leader"}}),
     "'topology.leader' must be the leader agent 'a' (got 'b')"),
    ("quorum larger than the team", lambda: spec_from(protocol={"kind": "quorum", "quorum": 4}),
     "'protocol.quorum' must be <= the team size 3 (got 4)"),
    ("2f+1 larger than the team", lambda: spec_from(protocol={"kind": "quorum", "faulty": 2}),
     "'protocol.faulty' must satisfy 2f + 1 <= the team size 3 (got 2)"),
    ("quorum not an integer", lambda: spec_from(protocol={"quorum": 2.5}),
     "'protocol.quorum' must be an integer >= 1 (got 2.5)"),
    ("negative token budget", lambda: spec_from(budgets={"max_tokens": -1}),
     "'budgets.max_tokens' must be an integer >= 0 (got -1)"),
    ("negative cost budget", lambda: spec_from(budgets={"max_cost_usd": -0.5}),
     "'budgets.max_cost_usd' must be a number >= 0 (got -0.5)"),
    ("negative wall budget", lambda: spec_from(budgets={"max_wall_s": -2}),
     "'budgets.max_wall_s' must be a number >= 0 (got -2)"),
    ("zero rounds", lambda: spec_from(budgets={"max_rounds": 0}),
     "'budgets.max_rounds' must be an integer >= 1 (got 0)"),
    ("empty team (dict)", lambda: TeamSpec.from_dict({"agents": []}),
     "'agents' must hold at least one agent (got [])"),
    ("empty team (constructor)", lambda: TeamSpec(agents=()),
     "'agents' must hold at least one agent (got [])"),
    ("empty team (size)", lambda: TeamSpec.from_dict({"size": 0}), "'size' must be an integer in [1, 10000000] (got 0)"),
    ("empty team (team())", lambda: team(0), "'n' must be an integer in [1, 10000000] (got 0)"),
    ("huge team (size)", lambda: TeamSpec.from_dict({"size": 10**12}),
     "'size' must be an integer in [1, 10000000] (got 1000000000000)"),
    ("huge team (team())", lambda: team(10**8), "'n' must be an integer in [1, 10000000] (got 100000000)"),
    ("agents not a list", lambda: TeamSpec.from_dict({"agents": {"id": "a"}}),
     "'agents' must be a list of tables (got {'id': 'a'})"),
    ("agents not a list (constructor)", lambda: TeamSpec(agents=5),
     "'agents' must be a list of agents (got 5)"),
    ("agent not a table", lambda: TeamSpec.from_dict({"agents": [1]}),
     "'agents[0]' must be a table/mapping (got 1)"),
    ("agent not an AgentSpec", lambda: TeamSpec(agents=[AgentSpec("a"), "b"]),
     "'agents[1]' must be an AgentSpec (got 'b')"),
    ("duplicate ids", lambda: TeamSpec.from_dict({"agents": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}),
     "'agents[2].id' must be unique in the team (got 'a')"),
    ("missing id", lambda: TeamSpec.from_dict({"agents": [{"role": "member"}]}), "'agents[0].id' is required"),
    ("competence out of range",
     lambda: TeamSpec.from_dict({"agents": [{"id": "a"}, {"id": "b"}, {"id": "c", "competence": 1.4}]}),
     "'agents[2].competence' must be in [0, 1] (got 1.4)"),
    ("unknown backend", lambda: TeamSpec.from_dict({"agents": [{"id": "a"}, {"id": "b", "backend": "opnai"}]}),
     "'agents[1].backend' must be one of ['mock', 'openai', 'replay', 'simulated'] (got 'opnai')"),
    ("latency NaN", lambda: team(2, latency_s=float("nan")), "'agents[0].latency_s' must be a number >= 0 (got nan)"),
    ("huge int competence", lambda: spec_from(agent={"competence": 10**400}),
     "'agents[0].competence' must be in [0, 1] (got <an integer of about 401 digits>)"),
    ("unknown team field", lambda: spec_from(colour="red"),
     f"'colour' is not a known field; expected one of {TEAM_FIELDS}"),
    ("unknown agent field", lambda: TeamSpec.from_dict({"agents": [{"id": "a"}, {"id": "b", "compet": 1}]}),
     f"'agents[1].compet' is not a known field; expected one of {AGENT_FIELDS}"),
    ("unknown profile keyword", lambda: team(2, compentence=0.5),
     f"'agents[0].compentence' is not a known field; expected one of {AGENT_FIELDS}"),
    ("non-string key", lambda: spec_from(topology={1: 2}),
     f"'topology.1' is not a known field; expected one of {field_names(TopologySpec)}"),
    ("odd small-world k", lambda: TeamSpec.from_dict({"size": 6, "topology": {"kind": "small_world", "k": 3}}),
     "'topology.k' must be even (got 3)"),
    ("small-world k too big", lambda: TeamSpec.from_dict({"size": 4, "topology": {"kind": "small_world", "k": 4}}),
     "'topology.k' must be < the team size 4 (got 4)"),
    ("probability out of range", lambda: spec_from(topology={"kind": "erdos_renyi", "p": 1.5}),
     "'topology.p' must be in [0, 1] (got 1.5)"),
    ("negative seed", lambda: spec_from(seed=-1), "'seed' must be an integer >= 0 (got -1)"),
    ("boolean seed", lambda: spec_from(seed=True), "'seed' must be an integer >= 0 (got True)"),
    ("unknown logging", lambda: spec_from(logging="all"), "'logging' must be one of ['messages', 'rounds'] (got 'all')"),
    ("zero concurrency", lambda: spec_from(concurrency=0), "'concurrency' must be an integer >= 1 (got 0)"),
    ("blank name", lambda: spec_from(name=" "), "'name' must be a non-empty string (got ' ')"),
    ("size with agents", lambda: TeamSpec.from_dict({"size": 2, "agents": [{"id": "x"}]}),
     "'size' cannot be combined with an explicit 'agents' list (got 2)"),
    ("agent template not a table", lambda: TeamSpec.from_dict({"size": 2, "agent": 3}),
     "'agent' must be a table/mapping (got 3)"),
    ("top level not a table", lambda: TeamSpec.from_dict([1, 2]), "'TeamSpec' must be a table/mapping (got [1, 2])"),
    ("custom answer not a choice",
     lambda: spec_from(task={"kind": "custom", "prompt": "q", "choices": ["x", "y"], "answer": "z"}),
     "'task.answer' must be one of the choices ['x', 'y'] (got 'z')"),
    ("choices as a string", lambda: spec_from(task={"kind": "custom", "prompt": "q", "choices": "xy", "answer": "x"}),
     "'task.choices' must be a list of answers (got 'xy')"),
    ("choice not text", lambda: spec_from(task={"kind": "custom", "prompt": "q", "choices": [{}, {}], "answer": "x"}),
     "'task.choices[0]' must be a non-empty string (got {})"),
    ("too few options", lambda: spec_from(task={"options": 1}), "'task.options' must be an integer >= 2 (got 1)"),
    ("too many options", lambda: spec_from(task={"options": 27}), "'task.options' must be at most 26 (got 27)"),
    ("stop flag not boolean", lambda: spec_from(protocol={"stop_at_consensus": "yes"}),
     "'protocol.stop_at_consensus' must be true or false (got 'yes')"),
    ("replace with a bad nested value", lambda: team(2).replace(budgets={"max_rounds": -3}),
     "'budgets.max_rounds' must be an integer >= 1 (got -3)"),
    ("replace with an unknown field", lambda: team(2).replace(foo=1),
     f"'foo' is not a known field; expected one of {TEAM_FIELDS}"),
    ("agent replace out of range", lambda: AgentSpec("a").replace(conformity=2),
     "'conformity' must be in [0, 1] (got 2)"),
    ("budgets constructed directly", lambda: Budgets(max_tokens=-5), "'max_tokens' must be an integer >= 0 (got -5)"),
    ("topology constructed directly", lambda: TopologySpec(kind="mesh"),
     f"'kind' must be one of {TOPOLOGIES} (got 'mesh')"),
    ("malformed TOML", lambda: TeamSpec.from_toml("seed = = 1"),
     "'<toml>' must be valid TOML: Invalid value (at line 1, column 8)"),
    ("unterminated TOML table", lambda: TeamSpec.from_toml("[agent\ncompetence = 1"),
     "'<toml>' must be valid TOML: Expected ']' at the end of a table declaration (at line 1, column 7)"),
    ("TOML with a bad value", lambda: TeamSpec.from_toml("size = 3\n[agent]\ncompetence = 1.4\n"),
     "'agents[0].competence' must be in [0, 1] (got 1.4)"),
    ("malformed JSON", lambda: TeamSpec.from_json("{bad"),
     "'<json>' must be valid JSON: Expecting property name enclosed in double quotes at line 1"),
]


@pytest.mark.parametrize(("label", "build", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_spec_error_with_exact_message(label, build, message) -> None:
    with pytest.raises(SpecError) as info:
        build()
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_spec_error_keeps_the_path_for_user_interfaces() -> None:
    with pytest.raises(SpecError) as info:
        team(4, competence=-0.1)
    assert (info.value.path, info.value.expected, info.value.got) == (
        "agents[0].competence", "must be in [0, 1]", -0.1)
