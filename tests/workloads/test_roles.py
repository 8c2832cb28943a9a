"""The role-playing workloads' codecs: prompts that read back, tolerant reply parsing,
structured output, envelopes — for every role (candidate, voter, leader, follower,
coordinator, participant, gossiper)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmteams_lab.errors import MalformedOutputError
from llmteams_lab.messages import AgentRequest, Message, Question
from llmteams_lab.spec import AgentSpec
from llmteams_lab.workloads import REGISTRY, codec_for
from llmteams_lab.workloads.roles import actions_of, choices_of, envelope, open_envelope, reply_choices, served

Q = Question("q", "Which of these numbers is prime? A) 15; B) 17; C) 21. Answer with the letter.", ("A", "B", "C"), "B")
INBOX = (Message(3, "a2", "a0", None, None, '[{"type":"request_vote","term":4,"to":["a0","a1"]}]'),)


def req(workload: str, role: str, view: dict, question: Question | None = None, inbox=INBOX) -> AgentRequest:
    return AgentRequest("run", 4, "a0", role, question, inbox, None, None, workload, view, workload)


ROLES = {
    "voter": req("election", "follower", {"term": 4, "leader": None, "voted_for": None, "log": [], "commit": 0,
                                          "timer_expired": False, "candidates": ["a2"], "decide": ["vote"]}),
    "candidate": req("election", "follower", {"term": 3, "leader": "a1", "voted_for": None, "log": [], "commit": 0,
                                              "timer_expired": True, "candidates": [], "decide": ["stand"]}, inbox=()),
    "leader": req("election", "leader", {"term": 5, "leader": "a0", "voted_for": "a0", "log": [], "commit": 0,
                                         "timer_expired": False, "candidates": [], "decide": ["propose"]}, Q),
    "follower": req("election", "follower", {"term": 5, "leader": "a1", "voted_for": "a1", "log": [], "commit": 0,
                                             "timer_expired": False, "candidates": [], "decide": []}),
    "assigner": req("election", "leader", {
        "term": 2, "leader": "a0", "voted_for": "a0",
        "log": [{"term": 2, "question": -2, "value": '["assign","t1","a2"]'}],
        "commit": 1, "timer_expired": False, "candidates": [],
        "tasks": [{"id": "t1", "title": "core", "status": "assigned", "owner": "a2", "dependencies": [], "work": 2},
                  {"id": "t2", "title": "api", "status": "pending", "owner": None, "dependencies": [], "work": 1},
                  {"id": "t3", "title": "docs", "status": "pending", "owner": None, "dependencies": [], "work": 1}],
        "ready": ["t2", "t3"], "idle": ["a1", "a3"], "decide": ["assign"]}),
    "coordinator": req("commit", "coordinator", {"protocol": "two_phase", "phase": "voting", "decision": None,
                                                 "steps": [{"name": "s", "status": "ok"}], "decide": ["decide"]}),
    "participant": req("commit", "participant", {"protocol": "saga", "step": "s", "action": None,
                                                 "compensation": "undo", "state": "idle", "asked": "execute",
                                                 "blocked": False, "decide": ["vote", "part"]}, Q),
    "gossiper": req("gossip", "gossiper", {"held": None, "source": False, "mode": "push",
                                           "rumours": [{"from": "a2", "value": "C"}], "pull_requests": [],
                                           "decide": ["hold"]}, Q),
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_s_prompt_reads_back_into_its_request(role: str) -> None:
    request = ROLES[role]
    codec = codec_for(request.workload)
    messages = codec.render(request, persona="terse")
    assert messages[0]["role"] == "system" and "Persona: terse" in messages[0]["content"]
    back = codec.read_prompt(messages)
    assert back is not None and (back.agent, back.role, back.round, back.view) == \
        (request.agent, request.role, request.round, request.view)
    assert [m.text for m in back.inbox] == [m.text for m in request.inbox]
    assert (back.question.options if back.question else None) == (request.question.options if request.question
                                                                   else None)
    others = [w.codec for w in {k.name: k for k in REGISTRY.values()}.values() if w.name != request.workload]
    assert all(c.read_prompt(messages) is None for c in others if c.name != "deliberation")


@pytest.mark.parametrize("role, text, expected", [
    ("voter", '```json\n{"vote": "A2", "message": "ok"}\n```', {"vote": "a2"}),
    ("voter", '{"vote": null, "message": "none of them"}', {}),
    ("candidate", 'Sure! {"stand": "yes", "message": "I stand"}', {"stand": True}),
    ("candidate", '{"stand": false}', {}),
    ("leader", '{"propose": "B) 17", "message": "17 is prime"}', {"propose": "B"}),
    ("assigner", '{"assign": [{"task": "T2", "agent": "A1"}], "message": "go"}', {"assign": '[["t2","a1"]]'}),
    ("assigner", '{"assign": {"t3": "a3", "t2": "a1"}}', {"assign": '[["t3","a3"],["t2","a1"]]'}),
    ("assigner", '{"assign": "[[\\"t2\\", \\"a3\\"]]"}', {"assign": '[["t2","a3"]]'}),
    ("assigner", '{"assign": [], "message": "nothing yet"}', {"assign": "[]"}),
    ("coordinator", '{"decide": "ABORT", "message": "no"}', {"decide": "abort"}),
    ("participant", '{"vote": "yes", "part": "b", "message": "done"}', {"vote": "yes", "part": "B"}),
    ("participant", '{"vote": "no", "part": null}', {"vote": "no"}),
])
def test_replies_are_read_tolerantly_into_choices(role: str, text: str, expected: dict) -> None:
    request = ROLES[role]
    parsed = codec_for(request.workload).parse(text, request)
    assert choices_of(parsed.actions) == expected


def test_a_gossiper_s_reply_is_its_answer() -> None:
    codec = codec_for("gossip")
    assert codec.parse('{"hold": "c", "message": "heard C"}', ROLES["gossiper"]).answer == "C"
    assert codec.parse('{"hold": null}', ROLES["gossiper"]).answer is None


@pytest.mark.parametrize("text", [None, "", "I refuse to answer.", "[1, 2]"])
def test_a_reply_without_a_json_object_is_malformed(text) -> None:
    with pytest.raises(MalformedOutputError):
        codec_for("election").parse(text, ROLES["voter"])


@pytest.mark.parametrize("role", sorted(ROLES))
def test_structured_output_asks_for_exactly_the_choices_of_the_turn(role: str) -> None:
    request = ROLES[role]
    fmt = codec_for(request.workload).response_format(request, "json_schema")
    schema = fmt["json_schema"]["schema"]
    expected = {"hold"} if role == "gossiper" else set(request.view["decide"])
    assert set(schema["properties"]) == expected | {"message"} and set(schema["required"]) == expected | {"message"}
    assert codec_for(request.workload).response_format(request, "none") is None
    assert codec_for(request.workload).response_format(request, "json_object") == {"type": "json_object"}


def test_envelopes_show_each_recipient_only_its_records() -> None:
    text = envelope([{"type": "vote", "term": 2, "to": ["a1"]}, {"type": "ack", "term": 2, "to": ["a3"]},
                     {"type": "hello"}])
    assert [r["type"] for r in open_envelope(text, "a1")] == ["vote", "hello"]
    assert [r["type"] for r in open_envelope(text, "a3")] == ["ack", "hello"]
    assert open_envelope("{not json", "a1") == [] and open_envelope('{"type": "x"}', "a1") == []


def test_choices_and_actions_convert_both_ways() -> None:
    choices = {"stand": True, "vote": "a2", "propose": None, "decide": False}
    assert actions_of(choices) == (("stand",), ("vote", "a2"))
    assert choices_of(actions_of(choices)) == {"stand": True, "vote": "a2"}
    assert reply_choices('{"vote": 3}', ["vote"])[0] == {"vote": "3"}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_a_served_reply_parses_back_into_the_simulated_agent_s_choices(role: str) -> None:
    request = ROLES[role]
    kind = next(k for k in REGISTRY.values() if k.name == request.workload)
    text, latency = kind.serve(request, AgentSpec("sim", competence=1.0, latency_s=0.5), 7, lambda q: q.answer)
    parsed = kind.codec.parse(text, request)
    assert latency > 0 and json.loads(text)["message"]
    expected = {"voter": {"vote": "a2"}, "candidate": {"stand": True}, "leader": {"propose": "B"}, "follower": {},
                "assigner": {"assign": '[["t2","a1"],["t3","a3"]]'},
                "coordinator": {"decide": "commit"}, "participant": {"vote": "yes", "part": "B"}}.get(role)
    if role == "gossiper":
        assert parsed.answer == "C"
    else:
        assert choices_of(parsed.actions) == expected
    again, _ = kind.serve(request, AgentSpec("sim", competence=1.0, latency_s=0.5), 7, lambda q: q.answer)
    assert again == text  # keyed by (seed, agent, turn): a retried request gets the same reply


def test_a_served_election_agent_draws_like_the_simulated_one() -> None:
    answer = served(lambda r, p, rng, t: {"propose": str(rng.integers(0, 10**6))}, 1)
    spread = {answer(ROLES["leader"], AgentSpec("sim"), seed, lambda q: None)[0] for seed in range(20)}
    assert len(spread) > 15 and np.isfinite(answer(ROLES["leader"], AgentSpec("sim"), 0, lambda q: None)[1])
