"""The turn replay backend answers an asynchronous agent's turns by (agent, start time)."""

from __future__ import annotations

import json

import pytest

from llmteams_lab.backends import MockBackend
from llmteams_lab.backends.turn_replay import GRID_S, TurnReplayBackend
from llmteams_lab.errors import LifecycleError, RateLimitedError
from llmteams_lab.events import AgentFailed, AgentReplied, MessageSent
from llmteams_lab.messages import AgentReply, AgentRequest
from tests.support import aio

# a0 acts at 0.0 and again at 1.2; a1 at 0.0, then is rate-limited at 0.9; a2 was down from
# 2.0 (a crash), so its turn begun at 1.5 left no row; each request says the agent's own turn
TRACE = [
    AgentReplied("r", 1, 0, "a0", t_start=0.0, t_end=0.75, value="B", tokens_in=30, tokens_out=7, cost_usd=0.01,
                 detail=json.dumps({"confidence": 0.8})),
    MessageSent("r", 1, 1, "a0", "a1", t_start=0.75, t_end=0.75, value="B", detail="I think B", cause=0),
    AgentReplied("r", 1, 2, "a1", t_start=0.0, t_end=0.5, value="C", detail=json.dumps({"confidence": 0.6})),
    AgentFailed("r", 1, 3, "a1", t_start=0.9, t_end=1.4, fault="rate_limited", detail="429"),
    AgentReplied("r", 2, 4, "a0", t_start=1.2, t_end=2.5, value="A", detail=json.dumps({"confidence": 0.9})),
    AgentFailed("r", 3, 5, "a2", t_start=2.0, t_end=2.0, fault="crash", detail="down"),
]


def req(agent: str, turn: int, previous: str | None = None) -> AgentRequest:
    return AgentRequest("r", turn, agent, "member", None, previous_answer=previous)


def at(times: list[float]):
    """A clock standing at each of ``times`` in turn (the run's clock at each call)."""
    it = iter(times)
    return lambda: next(it)


@aio
async def test_each_turn_is_answered_by_its_agent_and_start_time() -> None:
    live = MockBackend(lambda r: "D")
    backend = TurnReplayBackend(TRACE, live, clock=at([0.0, 0.0, 1.2]))
    assert backend.has("a0", 1.2) and not backend.has("a0", 1.3)
    a1 = await backend.respond(req("a1", 1))
    a0 = await backend.respond(req("a0", 1))
    assert (a0.answer, a0.confidence, a0.text, a0.tokens_in, a0.cost_usd) == ("B", 0.8, "I think B", 30, 0.01)
    assert a0.latency_s == pytest.approx(0.75) and (a1.answer, a1.text) == ("C", "")
    again = await backend.respond(req("a0", 2))  # its second turn, begun at 1.2
    assert again.answer == "A" and again.latency_s == pytest.approx(1.3)
    assert backend.replayed == 3 and not backend.has("a0", 1.2), "a turn is replayed once"
    assert live.calls == []


@aio
async def test_a_recorded_failure_is_raised_again() -> None:
    backend = TurnReplayBackend(TRACE, MockBackend(), clock=lambda: 0.9)
    with pytest.raises(RateLimitedError) as err:
        await backend.respond(req("a1", 2))
    assert err.value.latency_s == pytest.approx(0.5)


@aio
async def test_a_turn_lost_to_a_crash_lands_just_after_the_crash() -> None:
    live = MockBackend(lambda r: "D")
    backend = TurnReplayBackend(TRACE, live, clock=lambda: 1.5)
    lost = await backend.respond(req("a2", 3, previous="B"))
    assert lost.latency_s == pytest.approx(0.5 + GRID_S) and lost.answer == "B" and live.calls == []


@aio
async def test_turns_the_trace_has_not_finished_and_turns_after_the_hand_over_are_live() -> None:
    later = {"a0": MockBackend(lambda r: "X"), "a1": MockBackend(lambda r: "Y")}
    backend = TurnReplayBackend(TRACE, later, clock=lambda: 3.0)
    assert (await backend.respond(req("a0", 3))).answer == "X", "a0's turn at 3.0 is not in the trace"
    backend.clock = lambda: 0.0
    backend.hand_over()
    assert (await backend.respond(req("a1", 1))).answer == "Y", "handed over: the recorded turn is not used"
    assert backend.virtual_time
    await backend.aclose()
    assert later["a0"].closed and later["a1"].closed


@aio
async def test_without_a_clock_it_says_what_to_set() -> None:
    with pytest.raises(LifecycleError, match="clock"):
        await TurnReplayBackend(TRACE, MockBackend()).respond(req("a0", 1))


def test_it_answers_in_virtual_time_until_it_hands_over_to_a_real_time_backend() -> None:
    class RealTime:  # any backend that does not declare virtual time (a real model)
        async def respond(self, request):  # pragma: no cover - never called
            raise AssertionError

        async def aclose(self) -> None:
            return None

    backend = TurnReplayBackend(TRACE, {"a0": MockBackend(), "a1": RealTime()})
    assert backend.virtual_time and not backend.live_in_virtual_time, "the recorded turns come at once"
    backend.hand_over()
    assert not backend.virtual_time


@aio
async def test_turns_under_way_and_straggler_stretches_are_answered_as_the_run_will_see_them() -> None:
    pending = {("a0", 3.0): AgentReply("a0", "C", 0.7, "later", 5, 6, 2.0),
               ("a1", 3.0): RateLimitedError("429 in flight", latency_s=1.0)}
    halve = lambda agent, latency: latency / 2 if agent == "a0" else latency  # noqa: E731
    backend = TurnReplayBackend(TRACE, MockBackend(lambda r: "D"), clock=lambda: 3.0, under_way=pending,
                                unstretch=halve)
    reply = await backend.respond(req("a0", 3))
    assert (reply.answer, reply.text, reply.latency_s) == ("C", "later", 1.0), "a0 is a straggler ×2"
    with pytest.raises(RateLimitedError) as err:
        await backend.respond(req("a1", 3))
    assert err.value.latency_s == 1.0 and pending[("a1", 3.0)].latency_s == 1.0
    backend.clock = lambda: 1.2
    assert (await backend.respond(req("a0", 2))).latency_s == pytest.approx(0.65), "recorded rows too"
    backend.clock = lambda: 3.0
    assert (await backend.respond(req("a0", 4))).answer == "D", "an under-way reply is used once"


@aio
async def test_a_turn_still_running_when_the_log_ends_is_answered_live_after_that_end() -> None:
    quick = MockBackend(lambda r: AgentReply(r.agent, "D", 0.5, "", 0, 0, 0.1))
    backend = TurnReplayBackend(TRACE, quick, clock=lambda: 2.2)  # the log ends at 2.5 (a0's reply)
    reply = await backend.respond(req("a1", 3))
    assert reply.answer == "D" and 2.2 + reply.latency_s == pytest.approx(2.5 + GRID_S)
    backend.hand_over()
    assert (await backend.respond(req("a1", 4))).latency_s == 0.1, "after the hand-over: as the backend says"
