"""Commit teams end to end: two-phase commit (and its blocking), sagas, best effort,
N-version and primary–backup, in both execution models."""

from __future__ import annotations

import json

import pytest

from llmteams_lab.backends import MockBackend
from llmteams_lab.messages import AgentReply
from llmteams_lab.metrics import check_run, commit_outcomes, events_frame
from llmteams_lab.spec import commit_team
from tests.support import COORDINATION_GOLDEN, of, run_all


def checks(events) -> dict[str, bool]:
    return dict(check_run(events_frame(events)).select("check", "ok").rows())


@pytest.mark.parametrize("execution", ["asynchronous", "synchronous"])
@pytest.mark.parametrize("protocol", ["two_phase", "saga", "best_effort"])
def test_a_healthy_team_produces_every_part(protocol: str, execution: str) -> None:
    run, events = run_all(commit_team(3, protocol=protocol, seed=1, execution=execution))
    assert run.end_reason == {"two_phase": "committed", "saga": "committed", "best_effort": "published"}[protocol]
    assert all(checks(events).values())
    row = commit_outcomes(events_frame(events)).row(0, named=True)
    assert row["protocol"] == protocol and row["compensations"] == row["blocked"] == 0
    assert row["correct"] == all(e.correct for e in of(events, "StepCompleted") + of(events, "Voted"))
    state = run.state()
    assert state["a0"]["role"] == "coordinator" and {s["step"] for s in state.values() if s["step"]} == \
        {"part1", "part2", "part3"}


def test_a_no_vote_aborts_every_part_of_a_two_phase_commit() -> None:
    steps = [{"name": "intro"}, {"name": "body", "fails": True}, {"name": "end"}]
    run, events = run_all(commit_team(steps, protocol="two_phase", seed=2))
    assert run.end_reason == "aborted"
    assert [e.value for e in of(events, "Voted", agent="a2")] == ["no"]
    assert not of(events, "PartCommitted") and len(of(events, "PartAborted")) == 2  # the yes voters
    assert checks(events)["atomicity"]


def test_prepared_participants_are_blocked_while_the_coordinator_is_down() -> None:
    run, events = run_all(COORDINATION_GOLDEN["commit_two_phase_blocked"])
    blocked = of(events, "Blocked")
    assert {e.agent for e in blocked} == {e.agent for e in of(events, "Voted", value="yes")}
    assert all(e.peer == "a0" for e in blocked)
    recovered = of(events, "FaultApplied", value="end")[0]
    assert all(e.seq > recovered.seq for e in of(events, "PartAborted"))  # nobody decided alone
    assert run.end_reason == "aborted" and all(checks(events).values())


def test_a_coordinator_that_never_comes_back_leaves_its_participants_blocked() -> None:
    spec = commit_team(2, protocol="two_phase", seed=2, timeout_s=5.0, max_rounds=40).replace(
        faults=[{"kind": "crash", "agent": "a0", "at_round": 3}])
    run, events = run_all(spec)
    assert run.end_reason == "max_rounds" and run.workload.outcome() == ("blocked", None)
    assert of(events, "Blocked") and not of(events, "PartCommitted") and not of(events, "PartAborted")
    assert len(of(events, "MessageSent", value="status")) > len(of(events, "Blocked"))  # they keep asking


def test_a_failing_saga_step_compensates_the_completed_ones_in_reverse_order() -> None:
    run, events = run_all(COORDINATION_GOLDEN["commit_saga_compensation"])
    assert [e.value for e in of(events, "StepCompleted")] == ["draft", "review"]
    assert [e.value for e in of(events, "Compensated")] == ["review", "draft"]
    assert run.end_reason == "aborted" and checks(events)["saga_compensation"]


def test_n_version_masks_a_wrong_replica_at_the_price_of_its_tokens() -> None:
    single = commit_outcomes(events_frame(run_all(commit_team(2, seed=7, execution="synchronous"))[1]))
    run, events = run_all(commit_team(2, replicas=3, seed=7, execution="synchronous", profile={"competence": 0.7}))
    triple = commit_outcomes(events_frame(events))
    assert run.end_reason == "committed" and all(checks(events).values())
    chosen = of(events, "TransactionEnded")[0]
    votes = of(events, "Voted", value="yes")
    for step, part in zip(("part1", "part2"), json.loads(chosen.detail)["parts"]):
        parts = [json.loads(v.detail)["part"] for v in votes if json.loads(v.detail)["step"] == step]
        assert parts.count(part) >= 2  # the majority's part
    assert triple["tokens"][0] > 2 * single["tokens"][0]  # 7 agents' calls instead of 3


def test_a_backup_takes_over_from_a_crashed_primary() -> None:
    run, events = run_all(COORDINATION_GOLDEN["commit_primary_backup"])
    took = of(events, "BackupTookOver")
    assert [(e.peer, e.value) for e in took] == [("a2", "part1")]
    assert run.end_reason == "committed" and all(checks(events).values())


def test_best_effort_publishes_a_partial_output() -> None:
    run, events = run_all(commit_team(4, protocol="best_effort", failure_rate=0.5, seed=3))
    assert run.end_reason == "partial" and of(events, "StepFailed") and of(events, "StepCompleted")
    assert run.workload.outcome() == ("partial", False)


def _veto(request):
    if "decide" in request.view.get("decide", ()):
        return AgentReply(request.agent, None, None, "", 5, 5, 0.3, actions=(("decide", "abort"),))
    if "vote" in request.view.get("decide", ()):
        return AgentReply(request.agent, None, None, "", 5, 5, 0.3,
                          actions=(("part", request.question.options[0]), ("vote", "yes")))
    return AgentReply(request.agent, None, None, "", 5, 5, 0.3)


def test_a_coordinator_may_veto_a_commit_every_step_voted_for() -> None:
    run, events = run_all(commit_team(2, seed=1), MockBackend(_veto))
    assert [e.detail for e in of(events, "Decided")] == ['{"reason":"the coordinator vetoed"}']
    assert run.end_reason == "aborted" and len(of(events, "PartAborted")) == 2


def test_a_part_that_is_not_an_option_is_refused_as_a_no() -> None:
    def script(request):
        if "vote" in request.view.get("decide", ()):
            return AgentReply(request.agent, None, None, "", 5, 5, 0.3, actions=(("part", "42?"), ("vote", "yes")))
        return AgentReply(request.agent, None, None, "", 5, 5, 0.3)

    run, events = run_all(commit_team(1, seed=1), MockBackend(script))
    assert [e.value for e in of(events, "ActionRefused")] == ["part"] and run.end_reason == "aborted"


def test_a_participant_that_missed_the_decision_gets_it_again_from_the_recovered_coordinator() -> None:
    """a1's link to the coordinator fails just before the decision and the coordinator
    crashes just after it: a1 is blocked until both heal, then it commits like the others."""
    spec = commit_team(3, seed=4, timeout_s=6.0, max_rounds=200).replace(faults=[
        {"kind": "drop", "link": ["a0", "a1"], "probability": 1.0, "start_round": 4, "end_round": 12},
        {"kind": "crash_recover", "agent": "a0", "start_round": 6, "end_round": 30}])
    run, events = run_all(spec)
    assert [e.agent for e in of(events, "Blocked")] == ["a1"]
    late = of(events, "PartCommitted", agent="a1")[0]
    assert json.loads(late.detail)["blocked"] and late.seq > of(events, "FaultApplied", value="end")[-1].seq
    assert {e.value for e in of(events, "PartCommitted")} == {"part1", "part2", "part3"}
    assert run.end_reason == "committed" and all(checks(events).values())
