"""Raft's rules for one node, on plain values (no engine)."""

from __future__ import annotations

from llmteams_lab.workloads.election import raft
from llmteams_lab.workloads.election.raft import CANDIDATE, FOLLOWER, LEADER, NOOP, Node

NAMES = ("a0", "a1", "a2", "a3", "a4")


def request_vote(term: int, last_term: int = 0, last_index: int = 0) -> dict:
    return {"type": "request_vote", "term": term, "last_term": last_term, "last_index": last_index}


def kinds(outcome: raft.Outcome) -> list[str]:
    return [h[0] for h in outcome.happened]


def test_a_node_grants_one_vote_per_term_and_refuses_the_rest() -> None:
    reading = raft.read(Node(deadline=99), 0, [(1, request_vote(1)), (2, request_vote(1))], 0.0, NAMES)
    assert reading.candidates == [1, 2] and reading.node.term == 1
    out = raft.act(reading, 0, 5, vote=2, stand=False, propose=None, next_question=None, now=0.0)
    assert out.node.voted_for == 2 and out.reset
    assert [(r["to"], r["granted"]) for r in out.records] == [([1], False), ([2], True)]
    again = raft.read(out.node, 0, [(1, request_vote(1))], 1.0, NAMES)
    assert again.candidates == [] and again.refused == [(1, "already voted for a2 in term 1")]


def test_a_candidate_whose_log_is_behind_gets_no_vote() -> None:
    node = Node(log=[(2, 0, "A")], term=2, deadline=99)
    reading = raft.read(node, 0, [(3, request_vote(3, last_term=1, last_index=5))], 0.0, NAMES)
    assert reading.candidates == [] and "behind" in reading.refused[0][1]
    ok = raft.read(node, 0, [(3, request_vote(3, last_term=2, last_index=1))], 0.0, NAMES)
    assert ok.candidates == [3]


def test_a_higher_term_makes_a_leader_step_down() -> None:
    leader = Node(term=2, role=LEADER, leader=0, match={0: 0})
    reading = raft.read(leader, 0, [(3, {"type": "ack", "term": 3, "ok": False, "match": 0})], 0.0, NAMES)
    assert reading.node.role == FOLLOWER and reading.node.term == 3
    assert reading.stepped == [(3, "saw term 3 from a3")]
    out = raft.act(reading, 0, 5, vote=None, stand=False, propose=None, next_question=None, now=0.0)
    assert kinds(out) == ["SteppedDown"] and not any(r["type"] == "append" for r in out.records)


def test_a_follower_keeps_what_agrees_and_takes_the_leader_s_log_from_the_first_conflict() -> None:
    mine = [(1, 0, "A"), (1, 1, "B")]
    assert raft.reconcile(mine, [(1, 0, "A")]) == mine  # a delayed, shorter copy truncates nothing
    assert raft.reconcile(mine, [(1, 0, "A"), (2, 1, "C")]) == [(1, 0, "A"), (2, 1, "C")]
    assert raft.reconcile([(1, 0, "A"), (1, 1, "B"), (1, 2, "D")], [(3, 0, "E")]) == [(3, 0, "E")]


def test_an_append_resets_the_timer_sets_the_commit_and_is_acked() -> None:
    append = {"type": "append", "term": 1, "log": [[1, 0, "A"]], "commit": 1}
    reading = raft.read(Node(deadline=5.0), 2, [(0, append)], 9.0, NAMES)
    assert reading.reset and not reading.expired and reading.node.leader == 0
    assert reading.node.log == [(1, 0, "A")] and reading.node.commit == 1
    assert reading.acks == {0: {"type": "ack", "term": 1, "ok": True, "match": 1}}


def test_entries_of_an_earlier_term_commit_only_with_one_of_the_leader_s_own() -> None:
    """Raft's figure 8: a new leader cannot count replicas of an old entry; its no-op commits it."""
    node = Node(term=3, role=CANDIDATE, voted_for=0, votes={0, 1, 2}, log=[(2, 0, "A")], deadline=99)
    reading = raft.read(node, 0, [], 0.0, NAMES)
    out = raft.act(reading, 0, 5, vote=None, stand=False, propose="B", next_question=1, now=0.0)
    assert kinds(out)[:1] == ["LeaderElected"] and out.node.log == [(2, 0, "A"), (3, NOOP, "")]
    assert ("propose", "nothing to propose until its log is committed") in out.refused
    assert out.node.commit == 0  # nobody has acked yet
    old_only = raft.read(out.node, 0, [(j, {"type": "ack", "term": 3, "ok": True, "match": 1}) for j in (1, 2)], 1.0)
    assert raft.act(old_only, 0, 5, vote=None, stand=False, propose=None, next_question=1, now=1.0).node.commit == 0
    both = raft.read(out.node, 0, [(j, {"type": "ack", "term": 3, "ok": True, "match": 2}) for j in (1, 2)], 1.0)
    done = raft.act(both, 0, 5, vote=None, stand=False, propose=None, next_question=1, now=1.0)
    assert done.node.commit == 2 and [h[2] for h in done.happened if h[0] == "EntryCommitted"] == ["A", ""]
    assert raft.decisions(done.node.log, done.node.commit) == {0: "A"}


def test_a_team_of_one_elects_itself_and_commits_alone() -> None:
    reading = raft.read(Node(deadline=1.0), 0, [], 2.0)
    assert reading.expired
    out = raft.act(reading, 0, 1, vote=None, stand=True, propose="C", next_question=0, now=2.0)
    assert kinds(out) == ["HeartbeatMissed", "ElectionStarted", "LeaderElected", "EntryProposed", "EntryCommitted"]
    assert out.node.role == LEADER and out.node.commit == 1


def test_standing_before_the_timer_runs_out_is_refused() -> None:
    reading = raft.read(Node(deadline=10.0), 0, [], 2.0)
    out = raft.act(reading, 0, 3, vote=None, stand=True, propose=None, next_question=None, now=2.0)
    assert out.refused == [("stand", "its election timer has not run out")] and out.node.term == 0


def test_a_candidate_that_declines_to_stand_again_becomes_a_follower() -> None:
    node = Node(term=2, role=CANDIDATE, voted_for=0, votes={0}, deadline=1.0)
    out = raft.act(raft.read(node, 0, [], 2.0), 0, 3, vote=None, stand=False, propose=None, next_question=None,
                   now=2.0)
    assert out.node.role == FOLLOWER and out.node.term == 2 and out.reset
