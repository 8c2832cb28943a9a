"""The simulated model behind ``serve``: it answers team prompts like a simulated agent."""

from __future__ import annotations

import json

import pytest

from llmteams_lab.messages import AgentRequest, Message, Question
from llmteams_lab.serve.agent import answer_chat, solve
from llmteams_lab.spec import TaskSpec
from llmteams_lab.workloads.deliberation import make_question
from llmteams_lab.workloads.deliberation.codec import render_messages
from tests.serve.servers import profile

PRIME = Question("q", "Which of these numbers is prime? A) 15; B) 17; C) 21; D) 27. Answer with the letter.",
                 ("A", "B", "C", "D"), "B")


def ask(agent: str = "a0", round: int = 1, inbox=(), previous=None, role="member", view=None, protocol="debate",
        question=PRIME, seed: int = 0, **fields) -> dict:
    request = AgentRequest("r", round, agent, role, question, tuple(inbox), previous,
                           0.7 if previous else None, protocol, view or {})
    reply = answer_chat({"model": "m", "messages": render_messages(request), "seed": seed}, profile(**fields), 0)
    return json.loads(reply.content)


@pytest.mark.parametrize("kind", ["multiple_choice", "arithmetic"])
@pytest.mark.parametrize("index", range(5))
def test_generated_questions_are_solved(kind: str, index: int) -> None:
    question = make_question(TaskSpec(kind=kind, options=5, index=index), seed=3)
    assert solve(question.prompt, question.options) == question.answer


def test_custom_questions_need_an_answer_key() -> None:
    assert solve("Capital of France?", ("Paris", "Lyon")) is None
    assert solve("Capital of France?", ("Paris", "Lyon"), {"Capital of France?": "Paris"}) == "Paris"


def test_competence_decides_the_first_answer() -> None:
    assert {ask(f"a{i}", competence=1.0)["answer"] for i in range(10)} == {"B"}
    assert "B" not in {ask(f"a{i}", competence=0.0)["answer"] for i in range(10)}


def test_a_conformist_adopts_the_confidence_weighted_plurality_of_its_inbox() -> None:
    inbox = [Message(1, "a1", "a0", "C", 0.9, ""), Message(1, "a2", "a0", "D", 0.3, ""),
             Message(1, "a3", "a0", "D", 0.3, "")]
    assert ask(round=2, previous="A", inbox=inbox, conformity=1.0)["answer"] == "C"
    assert ask(round=2, previous="A", inbox=inbox, conformity=0.0)["answer"] == "A"


def test_the_leader_aggregates_its_reports_with_its_own_answer() -> None:
    reports = [Message(1, f"a{i}", "a0", "C", 0.6, "") for i in (1, 2)]
    view = {"phase": "aggregate", "leader": "a0"}
    answer = ask(round=2, previous="A", inbox=reports, role="leader", view=view, protocol="leader", conformity=0.0)
    assert answer["answer"] == "C"  # 1.2 reported for C beats its own 1.0 for A
    follower = ask(round=2, previous="A", inbox=reports[:1], view=view, protocol="leader", conformity=0.0)
    assert follower["answer"] == "A"


def test_answers_depend_on_seed_agent_and_round_only() -> None:
    first = [ask(f"a{i}", seed=4, competence=0.5) for i in range(8)]
    assert first == [ask(f"a{i}", seed=4, competence=0.5) for i in range(8)]
    assert first != [ask(f"a{i}", seed=5, competence=0.5) for i in range(8)]


def test_reply_length_and_confidence_follow_the_profile() -> None:
    short, long = ask(reply_tokens=10), ask(reply_tokens=120)
    assert len(long["message"]) > 4 * 100 > len(short["message"])
    assert ask(competence=1.0, confidence=0.9, calibration=0.1)["confidence"] >= 0.8


def test_a_prompt_that_is_not_a_team_prompt_gets_a_plain_answer() -> None:
    reply = answer_chat({"model": "m", "messages": [{"role": "user", "content": "Hello?"}]}, profile(), 0)
    assert "simulated agent" in reply.content and reply.finish_reason == "stop"
    assert reply.prompt_tokens == 3 + 2 + 3
