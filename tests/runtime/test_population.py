"""Large generated teams run from their template: the same events as listed agents, a
hashed small world above the legacy size, one counted event per kind and round, and no
agent object made for a whole aggregated run."""

from __future__ import annotations

from llmteams_lab import TeamSpec, run_sync, team
from llmteams_lab.spec import AgentSpec
from llmteams_lab.spec.roster import Roster
from llmteams_lab.spec.smallworld import LEGACY_MAX_AGENTS


def test_a_roster_team_runs_exactly_as_its_listed_agents() -> None:
    spec = team(12, topology="small_world", protocol="debate", competence=0.5, seed=3, max_rounds=4)
    listed = spec.replace(agents=tuple(AgentSpec(id=f"a{i}", competence=0.5) for i in range(12)))
    assert isinstance(spec.agents, Roster) and not isinstance(listed.agents, Roster)
    one, two = run_sync(spec), run_sync(listed)
    assert one.run_id == two.run_id and [e.to_json() for e in one.records] == [e.to_json() for e in two.records]


def test_an_aggregated_run_above_the_legacy_size_counts_every_arc_and_makes_no_agent() -> None:
    n, k = LEGACY_MAX_AGENTS + 2_000, 10
    spec = TeamSpec.from_dict({"size": n, "seed": 2, "logging": "rounds",
                               "topology": {"kind": "small_world", "k": k, "p": 0.3},
                               "protocol": {"kind": "debate", "stop_at_consensus": False},
                               "budgets": {"max_rounds": 3}})
    result = run_sync(spec)
    assert result.rounds == 3 and spec.agents._agents is None  # read from the template, never listed
    sent = [e for e in result.records if e.kind == "MessageSent"]
    assert [e.count for e in sent] == [n * k] * 3  # every arc of the hashed small world, once a round
    again = run_sync(spec)
    assert [e.to_json() for e in again.records] == [e.to_json() for e in result.records]
