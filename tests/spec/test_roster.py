"""Generated teams as one template and a size: the same spec as listed agents, a compact
form above the old cap, and a team size guarded by the cap and the pre-flight estimate."""

from __future__ import annotations

import pytest

from llmteams_lab import SpecError, TeamSpec, team
from llmteams_lab.spec import AgentSpec
from llmteams_lab.spec.footprint import MEMORY_LIMIT_BYTES, estimate
from llmteams_lab.spec.roster import LISTED_MAX_AGENTS, Roster
from llmteams_lab.spec.team import MAX_AGENTS

OLD_CAP = 100_000


def listed(n: int, **fields) -> TeamSpec:
    """The same team with every agent built and validated one by one."""
    return TeamSpec(agents=tuple(AgentSpec(id=f"a{i}", **fields) for i in range(n)))


def test_a_generated_team_is_a_roster_equal_to_its_listed_agents() -> None:
    spec = team(6, topology="complete", competence=0.7)
    assert isinstance(spec.agents, Roster)
    same = listed(6, competence=0.7).replace(protocol=spec.protocol, task=spec.task, budgets=spec.budgets)
    assert spec == same and same == spec and hash(spec.agents) == hash(same.agents)
    assert spec.to_json() == same.to_json() and spec.fingerprint() == same.fingerprint()  # run ids keep
    assert spec.ids == ("a0", "a1", "a2", "a3", "a4", "a5") and spec.agents[-1].id == "a5"
    assert [a.id for a in spec.agents[1:3]] == ["a1", "a2"] and spec.agents[4].competence == 0.7
    with pytest.raises(IndexError):
        spec.agents[6]


def test_the_size_form_gives_a_roster_and_reports_template_errors_at_the_first_agent() -> None:
    spec = TeamSpec.from_dict({"size": 3, "agent": {"competence": 0.9}})
    assert isinstance(spec.agents, Roster) and spec == listed(3, competence=0.9)
    with pytest.raises(SpecError, match=r"^'agents\[0\]\.competence' must be"):
        TeamSpec.from_dict({"size": 3, "agent": {"competence": 2}})
    with pytest.raises(SpecError, match=r"^'agents\[1\]\.id' must be unique in the team"):
        TeamSpec.from_dict({"size": 3, "agent": {"id": "x"}})  # not one template: listed, as before


def test_leader_and_mixed_teams_list_their_agents() -> None:
    lead = team(4, topology="star", protocol="leader")
    assert not isinstance(lead.agents, Roster) and lead.leader == "a0" and lead.agents[1].role == "member"
    mixed = TeamSpec.from_dict({"mix": {"strong-slow": 1, "cheap-fast": 2}})
    assert [a.profile for a in mixed.agents] == ["strong-slow", "cheap-fast", "cheap-fast"]


def test_a_team_just_above_the_old_cap_is_accepted_and_written_compactly() -> None:
    n = OLD_CAP + 1
    spec = team(n, topology="small_world", logging="rounds").replace(topology={"kind": "small_world", "k": 10})
    assert len(spec.agents) == n and spec.ids[-1] == f"a{n - 1}"
    data = spec.to_dict()
    assert list(data)[:2] == ["size", "agent"] and data["size"] == n and "id" not in data["agent"]
    assert TeamSpec.from_json(spec.to_json()) == spec and TeamSpec.from_toml(spec.to_toml()) == spec
    assert TeamSpec.from_dict(data).fingerprint() == spec.fingerprint()
    assert len(spec.to_json()) < 2_000  # not a table per agent


def test_teams_up_to_the_old_cap_keep_their_listed_form() -> None:
    data = TeamSpec.from_dict({"size": LISTED_MAX_AGENTS, "topology": {"kind": "ring"}}).to_dict()
    assert len(data["agents"]) == LISTED_MAX_AGENTS and data["agents"][-1]["id"] == f"a{LISTED_MAX_AGENTS - 1}"


def test_a_million_agent_small_world_fits_the_pre_flight_estimate() -> None:
    spec = TeamSpec.from_dict({"size": 10**6, "logging": "rounds", "topology": {"kind": "small_world", "k": 10}})
    found = estimate(spec)
    assert found.arcs == 10**7 and found.total_bytes <= MEMORY_LIMIT_BYTES


@pytest.mark.parametrize("build, message", [
    (lambda: TeamSpec.from_dict({"size": MAX_AGENTS + 1}),
     f"'size' must be an integer in [1, {MAX_AGENTS}] (got {MAX_AGENTS + 1})"),
    (lambda: team(MAX_AGENTS + 1), f"'n' must be an integer in [1, {MAX_AGENTS}] (got {MAX_AGENTS + 1})"),
    (lambda: TeamSpec(agents=Roster(AgentSpec(id="a0"), MAX_AGENTS + 1)),
     f"'agents' must hold at most {MAX_AGENTS:,} agents (got {MAX_AGENTS + 1})"),
])
def test_the_team_size_cap_names_its_field(build, message: str) -> None:
    with pytest.raises(SpecError) as info:
        build()
    assert str(info.value) == message


@pytest.mark.parametrize("data, message", [
    ({"size": MAX_AGENTS, "logging": "rounds", "topology": {"kind": "small_world", "k": 10}},
     r"^'topology' needs about \d+\.\d GiB to run \(10,000,000 agents, 100,000,000 arcs, aggregated logging\), "
     r"above the limit of 4\.0 GiB"),
    ({"size": 10**6, "topology": {"kind": "small_world", "k": 10}},  # per-message: 2 events per arc per round
     r"^'topology' needs about .* \(1,000,000 agents, 10,000,000 arcs, per-message logging\).*logging = 'rounds'$"),
    ({"size": OLD_CAP + 1, "logging": "rounds"},
     r"^'topology' needs about .* \(100,001 agents, 10,000,100,000 arcs, aggregated logging\)"),
])
def test_the_pre_flight_estimate_refuses_what_would_not_fit(data: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        TeamSpec.from_dict(data)


@pytest.mark.parametrize("n", [1_000, 200_000])
def test_a_bad_agent_name_on_a_large_team_gets_a_short_message(n) -> None:
    """The team's ids are summarised, not echoed: a million names are no error message."""
    from llmteams_lab import FaultSpec

    with pytest.raises(SpecError) as err:
        team(n, topology="ring", logging="rounds").replace(faults=[FaultSpec(kind="crash", agent="zz", at_round=1)])
    assert str(err.value) == f"'faults[0].agent' must be an agent of the team a0 .. a{n - 1} ({n:,} agents) (got 'zz')"
    with pytest.raises(SpecError, match=r"'topology.leader' must be an agent of the team a0 \.\. a999 \(1,000 agents\)"):
        team(1_000, topology="star").replace(topology={"kind": "star", "leader": "zz"})
