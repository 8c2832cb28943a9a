"""Virtual clock (the straggler sets the pace), bounded concurrency, and token growth."""

from __future__ import annotations

import asyncio

import pytest

from llmteams_lab import Run, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.messages import AgentReply
from tests.support import aio, no_stop, run_events

LATENCY = {"a0": 0.5, "a1": 2.25, "a2": 1.0}


def by_latency(request):
    return AgentReply(request.agent, request.question.answer, 0.8, "", 0, 0, LATENCY[request.agent])


def test_a_round_lasts_as_long_as_its_slowest_agent() -> None:
    events = run_events(no_stop(team(3, backend="mock", max_rounds=3)), MockBackend(by_latency))
    rounds = [(e.round, e.t_start, e.t_end) for e in events if e.kind == "RoundEnded"]
    assert rounds == [(1, 0.0, 2.25), (2, 2.25, 4.5), (3, 4.5, 6.75)]
    replies = {(e.round, e.agent): (e.t_start, e.t_end) for e in events if e.kind == "AgentReplied"}
    assert replies[(2, "a0")] == (2.25, 2.75) and replies[(2, "a1")] == (2.25, 4.5)
    sent = {(e.round, e.agent, e.peer): (e.t_start, e.t_end) for e in events if e.kind == "MessageDelivered"}
    assert sent[(1, "a0", "a1")] == (0.5, 2.25)  # sent when a0 answered, delivered at the round's end
    assert events[-1].kind == "RunEnded" and events[-1].t_end == 6.75


def test_simulated_latency_advances_virtual_time_not_wall_time() -> None:
    events = run_events(no_stop(team(4, latency_s=30.0, latency_jitter=0.5, max_rounds=20)))
    ends = [e.t_end for e in events if e.kind == "RoundEnded"]
    assert len(ends) == 20 and ends[-1] > 20 * 30.0 * 0.5
    assert all(b > a for a, b in zip(ends, ends[1:]))


class CountingBackend:
    """Counts calls in flight; each call yields to the loop a few times."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    async def respond(self, request):
        self.in_flight += 1
        self.calls += 1
        self.peak = max(self.peak, self.in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        self.in_flight -= 1
        return AgentReply(request.agent, request.question.answer, 0.9)

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("bound", [1, 3, 16])
@aio
async def test_per_agent_calls_respect_the_concurrency_bound(bound: int) -> None:
    backend = CountingBackend()
    spec = no_stop(team(10, backend="mock", max_rounds=2)).replace(concurrency=bound)
    async with Run(spec, backends=backend) as run:
        await run.run()
    assert backend.calls == 20
    assert backend.peak == min(bound, 10)


def _round_tokens_in(spec) -> dict[int, int]:
    out: dict[int, int] = {}
    for e in run_events(no_stop(spec)):
        if e.kind == "AgentReplied":
            out[e.round] = out.get(e.round, 0) + e.tokens_in
    return out


@pytest.mark.parametrize("n", [4, 8, 16])
def test_complete_team_input_tokens_grow_with_n_squared(n: int) -> None:
    tokens = _round_tokens_in(team(n, topology="complete", prompt_tokens=100, tokens_per_message=40, max_rounds=2))
    assert tokens == {1: 100 * n, 2: 100 * n + 40 * n * (n - 1)}


@pytest.mark.parametrize("n", [4, 8, 16])
def test_star_team_input_tokens_grow_with_n(n: int) -> None:
    tokens = _round_tokens_in(team(n, topology="star", prompt_tokens=100, tokens_per_message=40, max_rounds=2))
    assert tokens == {1: 100 * n, 2: 100 * n + 40 * 2 * (n - 1)}


def test_token_growth_ratio_complete_vs_star() -> None:
    def messages_tokens(topology, n):
        t = _round_tokens_in(team(n, topology=topology, prompt_tokens=0, tokens_per_message=10, max_rounds=2))
        return t[2]

    assert messages_tokens("complete", 32) / messages_tokens("complete", 8) == pytest.approx(31 * 32 / (7 * 8))
    assert messages_tokens("star", 32) / messages_tokens("star", 8) == pytest.approx(31 / 7)
