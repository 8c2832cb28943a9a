"""The simulated agents: seeded, vectorised, and faithful to their profile."""

from __future__ import annotations

import numpy as np
import pytest

from llmteams_lab import team
from llmteams_lab.backends import RoundBatch
from llmteams_lab.messages import AgentRequest, Message
from llmteams_lab.workloads.deliberation import SimulatedBackend, make_question
from tests.support import aio


def batch(spec, round=1, previous=None, votes=None, weight=None, size=None, acting=None, view=None):
    n = len(spec.agents)
    q = make_question(spec.task, spec.seed)
    k = len(q.options)
    return RoundBatch("r", round, q, spec.protocol.kind,
                      np.arange(n) if acting is None else np.asarray(acting),
                      np.full(n, -1) if previous is None else np.asarray(previous),
                      np.zeros((n, k), np.int64) if votes is None else votes,
                      np.zeros((n, k), np.int64) if weight is None else weight,
                      np.zeros(n, np.int64) if size is None else np.asarray(size), view or {})


def truth(spec) -> int:
    q = make_question(spec.task, spec.seed)
    return q.options.index(q.answer)


def test_competence_one_and_zero() -> None:
    spec = team(50, competence=1.0, seed=3)
    assert (SimulatedBackend(spec).respond_round(batch(spec)).answer == truth(spec)).all()
    spec = team(50, competence=0.0, seed=3)
    out = SimulatedBackend(spec).respond_round(batch(spec)).answer
    assert (out != truth(spec)).all() and ((out >= 0) & (out < 4)).all()


def test_competence_sets_the_share_of_correct_first_answers() -> None:
    spec = team(4000, topology="star", competence=0.3, seed=1)  # a complete 4,000 would not fit
    share = (SimulatedBackend(spec).respond_round(batch(spec)).answer == truth(spec)).mean()
    assert 0.27 < share < 0.33


def test_same_seed_same_replies_and_seed_matters() -> None:
    spec = team(30, competence=0.5, seed=9)
    one, two = SimulatedBackend(spec).respond_round(batch(spec)), SimulatedBackend(spec).respond_round(batch(spec))
    for name in ("answer", "confidence", "latency_s", "tokens_in", "tokens_out"):
        assert np.array_equal(getattr(one, name), getattr(two, name))
    other = SimulatedBackend(spec.replace(seed=10)).respond_round(batch(spec.replace(seed=10)))
    assert not np.array_equal(one.latency_s, other.latency_s)


def test_an_agents_draws_do_not_depend_on_who_else_acts() -> None:
    spec = team(10, competence=0.5, seed=4)
    backend = SimulatedBackend(spec)
    everyone = backend.respond_round(batch(spec))
    some = backend.respond_round(batch(spec, acting=[2, 7]))
    assert some.answer.tolist() == everyone.answer[[2, 7]].tolist()
    assert some.latency_s.tolist() == everyone.latency_s[[2, 7]].tolist()


def test_conformity_zero_keeps_and_one_adopts_the_weighted_plurality() -> None:
    n, k = 6, 4
    previous = np.zeros(n, np.int64)  # everyone held option 0
    weight = np.zeros((n, k), np.int64)
    weight[:, 2] = 1500  # the inbox leans to option 2 ...
    weight[:, 1] = 1400
    votes = np.zeros((n, k), np.int64)
    votes[:, 1], votes[:, 2] = 2, 1  # ... by confidence, though option 1 has more votes
    size = np.full(n, 3)
    stubborn = team(n, conformity=0.0, seed=2)
    out = SimulatedBackend(stubborn).respond_round(batch(stubborn, 2, previous, votes, weight, size))
    assert out.answer.tolist() == [0] * n
    conformist = team(n, conformity=1.0, seed=2)
    out = SimulatedBackend(conformist).respond_round(batch(conformist, 2, previous, votes, weight, size))
    assert out.answer.tolist() == [2] * n


def test_an_empty_inbox_never_changes_an_answer() -> None:
    spec = team(8, conformity=1.0, seed=2)
    previous = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    out = SimulatedBackend(spec).respond_round(batch(spec, 2, previous))
    assert out.answer.tolist() == previous.tolist()


def test_tokens_latency_and_confidence_follow_the_profile() -> None:
    spec = team(5, prompt_tokens=100, tokens_per_message=7, reply_tokens=33, latency_s=2.0, latency_jitter=0.0,
                confidence=0.6, calibration=0.2, competence=1.0, seed=1)
    out = SimulatedBackend(spec).respond_round(batch(spec, size=[0, 1, 2, 3, 10]))
    assert out.tokens_in.tolist() == [100, 107, 114, 121, 170]
    assert out.tokens_out.tolist() == [33] * 5
    assert out.latency_s.tolist() == [2.0] * 5
    assert ((out.confidence > 600) & (out.confidence <= 1000)).all()  # right answers: 0.8 ± noise


def test_leader_aggregates_its_inbox_plus_its_own_vote() -> None:
    spec = team(4, topology="star", protocol="leader", conformity=0.0, seed=1)
    k = 4
    weight = np.zeros((4, k), np.int64)
    weight[0, 3] = 900  # the leader heard option 3 from its followers ...
    votes = np.zeros((4, k), np.int64)
    votes[0, 3] = 1
    previous = np.array([1, 3, 0, 0])  # ... and held option 1 itself
    out = SimulatedBackend(spec).respond_round(batch(spec, 2, previous, votes, weight, [1, 1, 1, 1],
                                                     view={"phase": "aggregate"}))
    assert out.answer[0] == 1  # its own vote weighs 1000 > 900
    weight[0, 3] = 1800
    out = SimulatedBackend(spec).respond_round(batch(spec, 2, previous, votes, weight, [1, 1, 1, 1],
                                                     view={"phase": "aggregate"}))
    assert out.answer[0] == 3
    assert out.answer[1:].tolist() == [3, 0, 0]  # stubborn followers keep theirs


@aio
async def test_per_agent_form_matches_the_batched_form() -> None:
    spec = team(5, competence=0.5, conformity=1.0, seed=6)
    backend = SimulatedBackend(spec)
    q = make_question(spec.task, spec.seed)
    inbox = (Message(1, "a1", "a3", q.options[2], 0.9), Message(1, "a4", "a3", q.options[1], 0.5))
    request = AgentRequest("r", 2, "a3", "member", q, inbox, q.options[0], 0.7)
    reply = await backend.respond(request)
    k = len(q.options)
    weight, votes = np.zeros((5, k), np.int64), np.zeros((5, k), np.int64)
    weight[3, 2], weight[3, 1], votes[3, 2], votes[3, 1] = 900, 500, 1, 1
    previous = np.full(5, -1)
    previous[3] = 0
    size = np.zeros(5, np.int64)
    size[3] = 2
    out = backend.respond_round(batch(spec, 2, previous, votes, weight, size, acting=[3]))
    assert reply.answer == q.options[int(out.answer[0])] == q.options[2]
    assert (reply.tokens_in, reply.tokens_out, reply.latency_s) == (
        int(out.tokens_in[0]), int(out.tokens_out[0]), float(out.latency_s[0]))
    assert reply.confidence == pytest.approx(out.confidence[0] / 1000)
