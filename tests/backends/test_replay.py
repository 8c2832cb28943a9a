"""The replay backend answers from a trace; the switch backend hands over at round k."""

from __future__ import annotations

import json

import pytest

from llmteams_lab.backends import MockBackend
from llmteams_lab.backends.replay import ReplayBackend, SwitchBackend
from llmteams_lab.errors import RateLimitedError, TraceEndedError
from llmteams_lab.events import AgentFailed, AgentReplied, MessageSent
from llmteams_lab.messages import AgentRequest
from tests.support import aio

TRACE = [
    AgentReplied("r", 1, 0, "a0", t_start=1.0, t_end=3.5, value="B", tokens_in=30, tokens_out=7, cost_usd=0.01,
                 detail=json.dumps({"confidence": 0.8})),
    MessageSent("r", 1, 1, "a0", "a1", value="B", detail="I think B"),
    AgentReplied("r", 1, 2, "a1", t_start=1.0, t_end=2.0, value="claim t1",
                 detail=json.dumps({"actions": [["claim", "t1"], ["complete", "t1", "faulty"]]})),
    AgentFailed("r", 2, 3, "a0", t_start=3.5, t_end=4.0, fault="rate_limited", detail="429"),
    AgentFailed("r", 2, 4, "a1", t_start=3.5, t_end=3.75, fault="crash", detail="crashed"),
]


def req(agent: str, round: int) -> AgentRequest:
    return AgentRequest("r", round, agent, "member", None)


@aio
async def test_replies_come_back_as_recorded() -> None:
    backend = ReplayBackend(TRACE)
    a0 = await backend.respond(req("a0", 1))
    assert (a0.answer, a0.confidence, a0.text, a0.tokens_in, a0.tokens_out, a0.cost_usd) == \
        ("B", 0.8, "I think B", 30, 7, 0.01)
    assert a0.latency_s == pytest.approx(2.5)
    a1 = await backend.respond(req("a1", 1))
    assert a1.actions == (("claim", "t1"), ("complete", "t1", "faulty")) and a1.confidence is None
    assert backend.last_round == 2 and backend.has(1, "a0") and not backend.has(3, "a0")


@aio
async def test_recorded_failures_are_raised_again_with_their_kind_and_latency() -> None:
    backend = ReplayBackend(TRACE)
    with pytest.raises(RateLimitedError) as err:
        await backend.respond(req("a0", 2))
    assert err.value.latency_s == pytest.approx(0.5)
    with pytest.raises(Exception) as other:
        await backend.respond(req("a1", 2))
    assert other.value.kind == "crash" and other.value.latency_s == pytest.approx(0.25)


@aio
async def test_past_the_trace_it_ends_clearly_or_falls_back() -> None:
    with pytest.raises(TraceEndedError, match="no reply of agent 'a0' in round 3 .*rounds 1..2"):
        await ReplayBackend(TRACE).respond(req("a0", 3))
    fallback = MockBackend(lambda r: "C")
    backend = ReplayBackend(TRACE, fallback=fallback)
    assert (await backend.respond(AgentRequest("r", 3, "a0", "member", None))).answer == "C"
    await backend.aclose()
    assert fallback.closed


@aio
async def test_the_switch_backend_hands_over_after_round_k() -> None:
    later = {"a0": MockBackend(lambda r: "X"), "a1": MockBackend(lambda r: "Y")}
    switch = SwitchBackend(ReplayBackend(TRACE), later, after_round=1)
    assert (await switch.respond(req("a0", 1))).answer == "B"
    assert (await switch.respond(req("a1", 5))).answer == "Y"
    await switch.aclose()
    assert later["a0"].closed and later["a1"].closed
