"""Protocols are pure: given answers they say who acts and what the team decided."""

from __future__ import annotations

import numpy as np
import pytest

from llmteams_lab import team
from llmteams_lab.protocols import (
    Debate,
    LeaderAggregation,
    MajorityVote,
    Quorum,
    WeightedVote,
    held_agreement,
    plurality,
    tally,
)

ALIVE = np.ones(5, dtype=bool)


def test_tally_and_plurality() -> None:
    answers = np.array([2, 0, 2, -1, 1])
    assert tally(answers, 4).tolist() == [1, 1, 2, 0]
    assert tally(answers, 4, np.array([1.0, 5.0, 1.0, 9.0, 0.5])).tolist() == [5.0, 0.5, 2.0, 0.0]
    assert plurality(np.array([3, 3, 1])) == 0  # ties go to the lowest option
    assert plurality(np.array([0, 0])) == -1 and plurality(np.array([])) == -1


def test_majority_and_weighted_votes_decide_in_one_round() -> None:
    spec = team(5, protocol="majority")
    answers = np.array([1, 1, 1, 2, 2])
    confidence = np.array([100, 100, 100, 900, 900])
    d = MajorityVote(spec, 4).decide(1, answers, confidence, ALIVE)
    assert (d.value, d.done, d.reason) == (1, True, "voted")
    d = WeightedVote(team(5, protocol="weighted"), 4).decide(1, answers, confidence, ALIVE)
    assert (d.value, d.done) == (2, True)


def test_votes_ignore_dead_agents() -> None:
    alive = np.array([True, False, False, True, True])
    d = MajorityVote(team(5, protocol="majority"), 4).decide(1, np.array([1, 1, 1, 2, 2]), np.zeros(5), alive)
    assert d.value == 2


def test_debate_stops_at_agreement_unless_told_not_to() -> None:
    spec = team(5, protocol="debate")
    split, agreed = np.array([0, 0, 1, 0, 0]), np.array([3, 3, 3, 3, 3])
    assert Debate(spec, 4).decide(1, split, np.zeros(5), ALIVE).done is False
    d = Debate(spec, 4).decide(1, agreed, np.zeros(5), ALIVE)
    assert (d.value, d.done, d.reason) == (3, True, "consensus")
    keep_going = spec.replace(protocol={"kind": "debate", "stop_at_consensus": False})
    assert Debate(keep_going, 4).decide(1, agreed, np.zeros(5), ALIVE).done is False
    assert Debate(spec, 4).decide(1, np.array([-1, 3, 3, 3, 3]), np.zeros(5), ALIVE).done is False


def test_leader_decides_in_round_two_and_is_a_single_point_of_failure() -> None:
    spec = team(4, topology="star", protocol="leader")
    leader = LeaderAggregation(spec, 4)
    assert leader.view(1) == {"phase": "report", "leader": "a0"} and leader.view(2)["phase"] == "aggregate"
    answers = np.array([2, 1, 1, 1])
    alive = np.ones(4, dtype=bool)
    assert leader.decide(1, answers, np.zeros(4), alive).done is False
    d = leader.decide(2, answers, np.zeros(4), alive)
    assert (d.value, d.done, d.reason) == (2, True, "leader_decided")
    alive[0] = False
    assert leader.decide(2, answers, np.zeros(4), alive).value == -1


@pytest.mark.parametrize(("n", "faulty", "quorum", "q"), [(7, None, None, 5), (4, None, None, 3),
                                                         (7, 1, None, 3), (7, None, 6, 6), (1, None, None, 1)])
def test_quorum_size(n, faulty, quorum, q) -> None:
    spec = team(n, protocol="quorum").replace(protocol={"kind": "quorum", "faulty": faulty, "quorum": quorum})
    assert Quorum(spec, 4).q == q


def test_quorum_decides_only_when_q_agents_agree() -> None:
    quorum = Quorum(team(7, protocol="quorum"), 4)  # q = 5
    alive = np.ones(7, dtype=bool)
    d = quorum.decide(1, np.array([1, 1, 1, 1, 2, 2, 0]), np.zeros(7), alive)
    assert (d.value, d.done) == (-1, False)
    d = quorum.decide(2, np.array([1, 1, 1, 1, 1, 2, 0]), np.zeros(7), alive)
    assert (d.value, d.done, d.reason) == (1, True, "quorum")
    alive[0] = False  # a crashed agent's answer does not count
    assert quorum.decide(2, np.array([1, 1, 1, 1, 1, 2, 0]), np.zeros(7), alive).done is False


def test_held_agreement_counts_live_agents_by_the_answer_they_hold() -> None:
    answers = np.array([2, 2, 1, -1, 2])
    assert held_agreement(answers, ALIVE) == (3, 5)  # a3 holds nothing yet: it still counts
    alive = np.array([True, True, False, True, True])
    assert held_agreement(answers, alive) == (3, 4)  # a2 is down: it does not
    assert held_agreement(np.array([-1, -1]), np.ones(2, dtype=bool)) == (0, 2)
    assert held_agreement(answers, np.zeros(5, dtype=bool)) == (0, 0)
    debate = Debate(team(5, protocol="debate"), 4)
    assert not debate.decide(1, answers, answers, ALIVE).done  # 3 of 5: no consensus
    assert not debate.decide(1, np.array([2, 2, 2, -1, 2]), answers, ALIVE).done  # one holds nothing
    agreed = debate.decide(1, np.array([2, 2, 1, 2, 2]), answers, np.array([True, True, False, True, True]))
    assert (agreed.done, agreed.reason, agreed.value) == (True, "consensus", 2)  # the down dissenter is out
