"""What the deliberation workload records about the answers agents hold."""

from __future__ import annotations

import json

import pytest

from llmteams_lab import team
from llmteams_lab.backends import MockBackend
from llmteams_lab.errors import BackendTimeoutError
from tests.support import no_stop, of, run_all


def script(request):
    """a1 answers B in round 1, fails in round 2, answers "maybe" (not an option) in round 3."""
    if request.agent == "a1":
        return {1: "B", 2: BackendTimeoutError("slow"), 3: "maybe"}[request.round]
    return "A"


@pytest.mark.parametrize(("policy", "held"), [("skip", "B"), ("abstain", None)])
def test_a_failed_call_records_the_answer_its_agent_still_holds(policy: str, held: str | None) -> None:
    spec = no_stop(team(3, protocol="debate", backend="mock", max_rounds=3, options=4)).replace(
        failure_policy={"on_error": policy})
    run, events = run_all(spec, MockBackend(script))
    failed = of(events, "AgentFailed", agent="a1")
    assert [(e.round, e.value, e.fault) for e in failed] == [(2, held, "timeout")]
    truth = run.question.answer
    assert failed[0].correct == (None if held is None else held == truth)


def test_an_answer_that_is_not_an_option_is_held_as_none_and_kept_in_the_detail() -> None:
    spec = no_stop(team(3, protocol="debate", backend="mock", max_rounds=3, options=4))
    _, events = run_all(spec, MockBackend(script))
    reply = of(events, "AgentReplied", agent="a1", round=3)[0]
    assert (reply.value, reply.correct) == (None, None)
    assert json.loads(reply.detail)["answer"] == "maybe"
