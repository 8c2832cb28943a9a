"""The coordinator's and the participants' rules, on plain values (no engine)."""

from __future__ import annotations

from llmteams_lab.workloads.commit import coordinator as rules
from llmteams_lab.workloads.commit import participant as member
from llmteams_lab.workloads.commit.coordinator import Coordinator
from llmteams_lab.workloads.commit.participant import Part


def happened(turn) -> list[str]:
    return [h[0] for h in turn.happened]


def coordinate(c: Coordinator, records, now: float, decision=None) -> rules.CoordinatorTurn:
    return rules.act(rules.read(c, records, now, 10.0), decision, now, 10.0)


def test_two_phase_commits_only_when_every_step_voted_yes() -> None:
    c = coordinate(Coordinator("two_phase", [[1], [2]], 1, False), [], 0.0).coord
    assert c.phase == "voting" and c.active == [[1], [2]]
    one = coordinate(c, [(1, {"type": "vote", "step": 0, "vote": "yes", "part": "A"})], 1.0)
    assert one.coord.decision is None
    both = rules.read(one.coord, [(2, {"type": "vote", "step": 1, "vote": "yes", "part": "B"})], 2.0, 10.0)
    assert both.must_decide
    done = rules.act(both, None, 2.0, 10.0)
    assert done.coord.decision == "commit" and happened(done) == ["Decided", "TransactionEnded"]
    assert sorted((r["to"][0], r["outcome"]) for r in done.records) == [(1, "commit"), (2, "commit")]
    vetoed = rules.act(both, "abort", 2.0, 10.0)
    assert vetoed.coord.decision == "abort" and {r["outcome"] for r in vetoed.records} == {"abort"}


def test_a_no_vote_or_a_silent_step_aborts_everyone() -> None:
    c = coordinate(Coordinator("two_phase", [[1], [2]], 1, False), [], 0.0).coord
    no = coordinate(c, [(1, {"type": "vote", "step": 0, "vote": "no", "part": None})], 1.0)
    assert no.coord.decision == "abort" and {r["outcome"] for r in no.records} == {"abort"}
    silent = coordinate(c, [(1, {"type": "vote", "step": 0, "vote": "yes", "part": "A"})], 10.5)
    assert silent.coord.decision == "abort" and silent.coord.reason == "step 1 failed"


def test_a_prepared_participant_is_blocked_without_a_decision_and_keeps_asking() -> None:
    p = member.act(member.read(Part(0), [{"type": "prepare", "step": 0}], 0.0, protocol="two_phase", timeout=5.0,
                               step="s"), "yes", "A", 0.0, protocol="two_phase", timeout=5.0, step="s",
                   scripted_failure=False)[0]
    assert p.state == "prepared" and p.deadline == 5.0
    waiting = member.read(p, [], 6.0, protocol="two_phase", timeout=5.0, step="s")
    assert happened(waiting) == ["Blocked"] and waiting.records == [{"type": "status", "step": 0}]
    again = member.read(waiting.part, [], 11.5, protocol="two_phase", timeout=5.0, step="s")
    assert happened(again) == [] and again.records == [{"type": "status", "step": 0}]  # blocked once, asks again
    decided = member.read(again.part, [{"type": "decision", "outcome": "abort"}], 12.0, protocol="two_phase",
                          timeout=5.0, step="s")
    assert decided.part.state == "aborted" and decided.happened[0][2]["blocked"] is True


def test_a_saga_compensates_completed_steps_in_reverse_order() -> None:
    c = coordinate(Coordinator("saga", [[1], [2], [3]], 1, False), [], 0.0).coord
    c = coordinate(c, [(1, {"type": "result", "step": 0, "ok": True, "part": "A"})], 1.0).coord
    c = coordinate(c, [(2, {"type": "result", "step": 1, "ok": True, "part": "B"})], 2.0).coord
    failed = coordinate(c, [(3, {"type": "result", "step": 2, "ok": False, "part": None})], 3.0)
    assert failed.coord.phase == "compensating" and failed.records == [{"type": "compensate", "step": 1, "to": [2]}]
    c = coordinate(failed.coord, [(2, {"type": "compensated", "step": 1})], 4.0)
    assert c.records == [{"type": "compensate", "step": 0, "to": [1]}]
    end = coordinate(c.coord, [(1, {"type": "compensated", "step": 0})], 5.0)
    assert end.coord.phase == "ended" and end.happened[-1] == ("TransactionEnded", None, "aborted",
                                                                {"compensated": [1, 0]})


def test_an_unconfirmed_compensation_is_resent_each_timeout() -> None:
    c = coordinate(Coordinator("saga", [[1], [2]], 1, False), [], 0.0).coord
    c = coordinate(c, [(1, {"type": "result", "step": 0, "ok": True, "part": "A"})], 1.0).coord
    c = coordinate(c, [(2, {"type": "result", "step": 1, "ok": False})], 2.0).coord
    assert coordinate(c, [], 5.0).records == []
    assert coordinate(c, [], 12.5).records == [{"type": "compensate", "step": 0, "to": [1]}]


def test_n_version_takes_the_majority_part_and_fails_without_one() -> None:
    c = coordinate(Coordinator("two_phase", [[1, 2, 3]], 3, False), [], 0.0).coord
    votes = [(1, {"type": "vote", "step": 0, "vote": "yes", "part": "B"}),
             (2, {"type": "vote", "step": 0, "vote": "yes", "part": "C"}),
             (3, {"type": "vote", "step": 0, "vote": "yes", "part": "B"})]
    done = coordinate(c, votes, 1.0)
    assert done.coord.chosen == ["B"] and done.coord.decision == "commit"
    assert {r["to"][0]: r["outcome"] for r in done.records} == {1: "commit", 2: "release", 3: "commit"}
    split = coordinate(c, votes[:2] + [(3, {"type": "vote", "step": 0, "vote": "no"})], 1.0)
    assert split.coord.decision == "abort"


def test_a_backup_takes_over_from_a_silent_primary() -> None:
    c = coordinate(Coordinator("saga", [[1, 2]], 1, True), [], 0.0).coord
    assert c.active == [[1]]
    late = coordinate(c, [], 10.0)
    assert happened(late) == ["BackupTookOver"] and late.records == [{"type": "execute", "step": 0, "to": [2]}]
    primary_late = coordinate(late.coord, [(1, {"type": "result", "step": 0, "ok": True, "part": "A"})], 11.0)
    assert {"type": "compensate", "step": 0, "to": [1]} in primary_late.records  # its work is not used: undone
    done = coordinate(primary_late.coord, [(2, {"type": "result", "step": 0, "ok": True, "part": "A"})], 12.0)
    assert done.coord.decision == "commit" and done.coord.phase == "ended"


def test_participants_answer_repeated_requests_the_same_way() -> None:
    turn = member.read(Part(0), [{"type": "execute", "step": 0}], 0.0, protocol="saga", timeout=5.0, step="s")
    p, records, _ = member.act(turn, "yes", "A", 0.0, protocol="saga", timeout=5.0, step="s", scripted_failure=False)
    again = member.read(p, [{"type": "execute", "step": 0}], 1.0, protocol="saga", timeout=5.0, step="s")
    assert again.records == records and not again.must_vote
    undo = member.read(p, [{"type": "compensate", "step": 0}] * 2, 2.0, protocol="saga", timeout=5.0, step="s")
    assert undo.part.state == "compensated" and happened(undo) == ["Compensated"]
    assert undo.records == [{"type": "compensated", "step": 0}] * 2


def test_a_scripted_failure_votes_no_whatever_the_agent_says() -> None:
    turn = member.read(Part(0), [{"type": "prepare", "step": 0}], 0.0, protocol="two_phase", timeout=5.0, step="s")
    p, records, events = member.act(turn, "yes", "A", 0.0, protocol="two_phase", timeout=5.0, step="s",
                                    scripted_failure=True)
    assert p.state == "aborted" and records[0]["vote"] == "no" and events[0][2]["reason"] == "scripted failure"
