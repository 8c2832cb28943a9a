"""Budgets in asynchronous runs: a turn's worst case is checked on the mailbox its agents
will read, and in real time the turns still in flight are held against the budget too —
a token cap is never exceeded, whatever the timing."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab import FaultSpec, Run, run_sync, team
from llmteams_lab.backends.base import Backend
from llmteams_lab.messages import AgentReply, AgentRequest
from tests.support import no_stop


def _spent(result) -> int:
    return sum(e.tokens_in + e.tokens_out for e in result.records if e.kind in ("AgentReplied", "AgentFailed"))


def _capped(max_tokens: int, seed: int):
    spec = team(6, protocol="debate", max_rounds=400, seed=seed, competence=0.3, conformity=0.0,
                execution="asynchronous", tokens_per_message=500)
    return spec.replace(network={"delay_s": 0.05, "jitter": 0.3, "tick_s": 1.0},
                        budgets=spec.budgets.replace(max_tokens=max_tokens))


@pytest.mark.parametrize("max_tokens", [29_222, 4_111, 9_870, 15_001, 22_345])
def test_a_simulated_asynchronous_team_never_spends_past_its_token_cap(max_tokens) -> None:
    """29,222 (seed 29,222) spent 29,440 when the check ignored the messages a turn reads."""
    result = run_sync(_capped(max_tokens, max_tokens))
    assert _spent(result) <= max_tokens
    assert result.records[-1].kind == "RunEnded"


class _SlowCallsBackend(Backend):
    """A real-time backend (``virtual_time`` false): each call sleeps a few milliseconds
    and uses exactly ``per_call`` tokens, which its ``worst_case_round`` bounds."""

    per_call = 100

    def __init__(self, seed: int):
        self._random = random.Random(seed)

    async def respond(self, request: AgentRequest) -> AgentReply:
        await asyncio.sleep(self._random.uniform(0.001, 0.02))
        question = request.question
        answer = question.options[self._random.randrange(len(question.options))]
        return AgentReply(request.agent, answer, 0.6, "my answer", tokens_in=60, tokens_out=40)

    def worst_case_round(self, round: int, agents: Sequence[int], request_of) -> tuple[int, float]:
        return self.per_call * len(agents), 0.0


@pytest.mark.parametrize("max_tokens", [750, 1_330, 2_010])
def test_real_time_turns_in_flight_are_held_against_the_token_cap(max_tokens) -> None:
    spec = no_stop(team(5, protocol="debate", max_rounds=50, seed=1, execution="asynchronous"))
    spec = spec.replace(budgets=spec.budgets.replace(max_tokens=max_tokens))

    async def go():
        async with Run(spec, backends={"simulated": _SlowCallsBackend(max_tokens)}) as run:
            assert run.execution.realtime
            result = await run.run()
            assert run.execution.budget.reserved == [0, 0.0] or result.records[-1].kind == "RunEnded"
            return result

    result = asyncio.run(go())
    assert _spent(result) <= max_tokens
    assert [e.detail for e in result.records if e.kind == "RunEnded"] == ["budget_tokens"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(4, 8), st.integers(0, 10_000), st.integers(500, 20_000),
       st.sampled_from([[], [{"kind": "drop", "probability": 0.2}], [{"kind": "crash", "agent": "a1", "at_round": 2}],
                        [{"kind": "duplicate", "probability": 0.3}]]), st.booleans())
def test_the_cap_holds_and_run_ended_comes_last_whatever_the_team(n, seed, max_tokens, faults, per_message) -> None:
    spec = team(n, protocol="debate", max_rounds=60, seed=seed, competence=0.35, conformity=0.1,
                execution="asynchronous", tokens_per_message=300,
                logging="messages" if per_message else "rounds")
    spec = spec.replace(network={"delay_s": 0.1, "jitter": 0.5}, faults=[FaultSpec.from_dict(f) for f in faults],
                        budgets=spec.budgets.replace(max_tokens=max_tokens))
    result = run_sync(spec)
    assert _spent(result) <= max_tokens
    kinds = [e.kind for e in result.records]
    assert kinds.count("RunEnded") == 1 and kinds[-1] == "RunEnded"
