"""Coordination task specs: every field validated with a SpecError naming it; round trips."""

from __future__ import annotations

import pytest

from llmteams_lab import SpecError, TaskSpec, TeamSpec
from llmteams_lab.spec import CommitSpec, CommitStep, ElectionSpec, GossipSpec, commit_team, election_team, gossip_team
from llmteams_lab.spec.tasks import WorkSpec

STEPS = [{"name": "a", "compensation": "undo a"}, {"name": "b", "compensation": "undo b"}]


def with_task(spec: TeamSpec, **task) -> TeamSpec:
    return TeamSpec.from_dict({**spec.to_dict(), "task": {**spec.task.to_dict(), **task}})


@pytest.mark.parametrize("make, message", [
    (lambda: ElectionSpec(election_timeout_s=3.0, heartbeat_s=3.0),
     "'election_timeout_s' must be > heartbeat_s (3): followers would time out between a live leader's "
     "heartbeats (got 3.0)"),
    (lambda: ElectionSpec(election_timeout_s=2.0), "'election_timeout_s' must be > heartbeat_s (3)"),
    (lambda: ElectionSpec(heartbeat_s=0), "'heartbeat_s' must be a number of seconds > 0"),
    (lambda: ElectionSpec(timeout_spread=-1), "'timeout_spread' must be in [0, 10] (got -1)"),
    (lambda: ElectionSpec(decisions=-1), "'decisions' must be an integer >= 0 (got -1)"),
    (lambda: ElectionSpec(question="essay"), "'question' must be one of ['arithmetic', 'multiple_choice']"),
    (lambda: ElectionSpec(duty="vote"), "'duty' must be one of ['assign', 'decide'] (got 'vote')"),
    (lambda: CommitSpec(protocol="saga", steps=(CommitStep("a", compensation="undo"), CommitStep("b"))),
     "'steps[1].compensation' is required for a saga step (how to undo 'b' if a later step fails)"),
    (lambda: CommitSpec(steps=()), "'steps' must list at least one step"),
    (lambda: CommitSpec(protocol="3pc", steps=(CommitStep("a"),)),
     "'protocol' must be one of ['best_effort', 'saga', 'two_phase'] (got '3pc')"),
    (lambda: CommitSpec(steps=(CommitStep("a"), CommitStep("a"))), "'steps[1].name' must be unique"),
    (lambda: CommitSpec(steps=(CommitStep("a"),), replicas=0), "'replicas' must be an integer >= 1 (got 0)"),
    (lambda: CommitSpec(steps=(CommitStep("a"),), replicas=3, backup=True), "'backup' cannot be combined"),
    (lambda: CommitSpec(steps=(CommitStep("a"),), timeout_s=0), "'timeout_s' must be a number of seconds > 0"),
    (lambda: CommitSpec(steps=(CommitStep("a"),), failure_rate=1.5), "'failure_rate' must be in [0, 1]"),
    (lambda: CommitStep(""), "'name' must be a non-empty string"),
    (lambda: CommitStep("a", compensation="  "), "'compensation' must be a non-empty string"),
    (lambda: GossipSpec(fanout=0), "'fanout' must be an integer >= 1 (got 0)"),
    (lambda: GossipSpec(mode="shout"), "'mode' must be one of ['pull', 'push', 'push_pull'] (got 'shout')"),
    (lambda: GossipSpec(ttl=0), "'ttl' must be an integer >= 1 (got 0)"),
    (lambda: GossipSpec(sources=0), "'sources' must be an integer >= 1 (got 0)"),
    (lambda: GossipSpec(period_s=0), "'period_s' must be a number of seconds > 0"),
    (lambda: GossipSpec(question="essay"), "'question' must be one of ['arithmetic', 'multiple_choice']"),
    (lambda: CommitStep("a", fails="yes"), "'fails' must be true or false (got 'yes')"),
    (lambda: CommitStep("a", action=3), "'action' must be a string (got 3)"),
    (lambda: CommitSpec(steps=(CommitStep("a"),), backup="yes"), "'backup' must be true or false (got 'yes')"),
    (lambda: CommitSpec(steps=(CommitStep("a"),), question="essay"),
     "'question' must be one of ['arithmetic', 'multiple_choice'] (got 'essay')"),
    (lambda: CommitSpec(steps=["x"]), "'steps[0]' must be a CommitStep (got 'x')"),
])
def test_each_field_is_checked_with_an_error_naming_it(make, message) -> None:
    with pytest.raises(SpecError) as err:
        make()
    assert message in str(err.value)


@pytest.mark.parametrize("make, message", [
    (lambda: gossip_team(8, fanout=8), "'task.gossip.fanout' must be <= n - 1 = 7 (the other agents) (got 8)"),
    (lambda: gossip_team(8, fanout=0), "'task.gossip.fanout' must be an integer >= 1 (got 0)"),
    (lambda: gossip_team(8, fanout=3, topology="ring"),
     "'task.gossip.fanout' must be <= the 2 out-neighbours of 'a0' in the topology (got 3)"),
    (lambda: gossip_team(4, sources=5), "'task.gossip.sources' must be <= the team size 4 (got 5)"),
    (lambda: commit_team(STEPS[:1] + [{"name": "b"}], protocol="saga"),
     "'steps[1].compensation' is required for a saga step"),
    (lambda: with_task(commit_team(2), commit={"protocol": "saga", "steps": STEPS[:1] + [{"name": "b"}]}),
     "'task.commit.steps[1].compensation' is required for a saga step"),
    (lambda: election_team(4).replace(topology={"kind": "ring"}),
     "'topology.kind' must connect every agent to every other for an 'election' task"),
    (lambda: election_team(4).replace(logging="rounds"), "'logging' must be 'messages' for a 'election' task"),
    (lambda: election_team(4).replace(protocol={"kind": "majority"}),
     "'protocol.kind' must be left at its default for a 'election' task"),
    (lambda: gossip_team(4, execution="asynchronous").replace(protocol={"wait": "all"}),
     "'protocol.wait' must be left at its default"),
    (lambda: commit_team(2).replace(agents=commit_team(3).agents),
     "'agents' must number 3 for this transaction: a coordinator plus 1 agent(s) for each of its 2 steps (got 4)"),
    (lambda: commit_team(2, backup=True).replace(agents=commit_team(2).agents),
     "'agents' must number 5 for this transaction: a coordinator plus a primary and a backup"),
    (lambda: commit_team(3).replace(topology={"kind": "ring"}),
     "'topology' must link the coordinator 'a0' with every participant both ways"),
    (lambda: TaskSpec(kind="commit"), "'commit' must be a CommitSpec (protocol and steps) for kind 'commit'"),
    (lambda: TaskSpec(kind="gossip", election=ElectionSpec()), "'election' is only allowed with kind 'election'"),
    (lambda: TaskSpec(kind="multiple_choice", gossip=GossipSpec()), "'gossip' is only allowed with kind 'gossip'"),
    (lambda: with_task(election_team(3), election={"duty": "delegate"}),
     "'task.election.duty' must be one of ['assign', 'decide'] (got 'delegate')"),
    (lambda: TaskSpec(kind="election", election=ElectionSpec(duty="assign")),
     "'work' must be a WorkSpec (tasks, source or parallel_fraction: the DAG the leader assigns) for an election "
     "with duty 'assign'"),
    (lambda: TaskSpec(kind="election", work=WorkSpec(parallel_fraction=0.5)),
     "'work' is only allowed with kind 'election' when election.duty is 'assign'"),
    (lambda: TaskSpec(kind="gossip", work=WorkSpec(parallel_fraction=0.5)),
     "'work' is only allowed with kind 'work_division' (or 'election' with duty 'assign')"),
    (lambda: election_team(3, duty="assign", work={"parallel_fraction": 0.5, "backup_after": 2}),
     "'task.work.backup_after' must be left out for an election with duty 'assign'"),
    (lambda: election_team(3, duty="assign", work={"parallel_fraction": 0.5, "error_rate": 0.2}),
     "'task.work.error_rate' must be 0 for an election with duty 'assign'"),
    (lambda: election_team(3, duty="assign", work={"parallel_fraction": 2}),
     "'task.work.parallel_fraction' must be in [0, 1] (got 2)"),
    (lambda: election_team(1, duty="assign"), "'agents' must number at least 2 for an election with duty 'assign'"),
])
def test_team_level_rules_name_the_field(make, message) -> None:
    with pytest.raises(SpecError) as err:
        make()
    assert message in str(err.value)


@pytest.mark.parametrize("spec", [election_team(5, timeout_spread=0.5), commit_team(3, protocol="saga", replicas=3),
                                  commit_team(2, backup=True), gossip_team(16, mode="push_pull", fanout=2, ttl=4),
                                  election_team(4, duty="assign", work={"parallel_fraction": 0.5, "size": 5,
                                                                        "policy": "critical_path"})],
                         ids=["election", "saga", "backup", "gossip", "election_assign"])
def test_coordination_teams_round_trip_through_json_and_toml(spec: TeamSpec) -> None:
    assert TeamSpec.from_json(spec.to_json()) == spec
    assert TeamSpec.from_toml(spec.to_toml()) == spec
    assert TeamSpec.from_json(spec.to_json()).fingerprint() == spec.fingerprint()


def test_defaults_fill_in_for_election_and_gossip_and_leave_other_tasks_alone() -> None:
    assert TaskSpec(kind="election").election == ElectionSpec()
    assert TaskSpec(kind="gossip").gossip == GossipSpec()
    plain = TaskSpec()
    assert (plain.election, plain.commit, plain.gossip) == (None, None, None)
    assert "election" not in plain.to_dict()  # existing specs keep their JSON and run ids


def test_the_decide_duty_is_the_default_and_spelling_it_out_keeps_the_run_id() -> None:
    assert ElectionSpec(duty="decide") == ElectionSpec() and ElectionSpec().duty is None
    assert "duty" not in ElectionSpec().to_dict()
    assert election_team(3, duty="decide").fingerprint() == election_team(3).fingerprint()
    assigned = election_team(3, duty="assign")
    assert assigned.task.election.duty == "assign" and len(assigned.task.work.dag) == 12


def test_commit_team_puts_the_coordinator_at_the_hub_and_a_step_per_participant() -> None:
    spec = commit_team(3, protocol="saga", replicas=2)
    assert spec.leader == "a0" and len(spec.agents) == 7 and spec.topology.kind == "star"
    assert [s.name for s in spec.task.commit.steps] == ["part1", "part2", "part3"]
    assert all(s.compensation for s in spec.task.commit.steps)


def test_a_large_complete_gossip_team_is_checked_without_building_its_arcs() -> None:
    spec = gossip_team(2_000, fanout=3)  # 4 million arcs if built: checked in closed form
    assert spec.task.gossip.fanout == 3
    with pytest.raises(SpecError, match="'topology' needs about .* GiB to run"):  # the pre-flight memory check
        gossip_team(5_000, fanout=3)
