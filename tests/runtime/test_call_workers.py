"""Per-agent backend calls: bounded workers that start calls in agent order.

The engine runs per-agent calls on at most ``concurrency`` worker tasks; these tests pin
what that must preserve: start order, the bound, agent-order application whatever the
completion order, cancellation of calls in flight, and one task for backends that
answer without waiting.
"""

from __future__ import annotations

import asyncio

import pytest

from llmteams_lab import Run, team
from llmteams_lab.messages import AgentReply, AgentRequest
from tests.support import aio, no_stop


class ScheduledBackend:
    """Agent ``aK`` waits ``waits[K]`` loop turns; records start/finish order and tasks."""

    def __init__(self, waits: dict[int, int]):
        self.waits = waits
        self.started: list[str] = []
        self.finished: list[str] = []
        self.tasks: set[int] = set()
        self.task_of: dict[str, int] = {}
        self.in_flight = 0
        self.peak = 0

    async def respond(self, request: AgentRequest) -> AgentReply:
        self.started.append(request.agent)
        self.tasks.add(id(asyncio.current_task()))
        self.task_of[request.agent] = id(asyncio.current_task())
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        for _ in range(self.waits.get(int(request.agent[1:]), 0)):
            await asyncio.sleep(0)
        self.in_flight -= 1
        self.finished.append(request.agent)
        return AgentReply(request.agent, request.question.answer, 0.9)

    async def aclose(self) -> None:
        return None


def _run_one_round(n: int, bound: int, backend) -> list:
    async def main() -> list:
        spec = no_stop(team(n, backend="mock", max_rounds=1)).replace(concurrency=bound)
        async with Run(spec, backends=backend) as run:
            await run.step()
            return list(run.events)

    return asyncio.run(main())


@pytest.mark.parametrize("bound", [1, 2, 3, 8])
def test_calls_start_in_agent_order_under_the_bound_and_apply_in_agent_order(bound: int) -> None:
    waits = {0: 9, 1: 1, 2: 5, 3: 1, 4: 7, 5: 2, 6: 1, 7: 3}  # completion order differs from agent order
    backend = ScheduledBackend(waits)
    events = _run_one_round(8, bound, backend)
    ids = [f"a{i}" for i in range(8)]
    assert backend.started == ids
    assert backend.peak == min(bound, 8)
    assert len(backend.tasks) == min(bound, 8)  # one task per concurrency slot, not per agent
    if bound > 1:
        assert backend.finished != ids  # really out of order ...
    assert [e.agent for e in events if e.kind == "AgentReplied"] == ids  # ... yet applied in order


def test_backends_that_answer_without_waiting_share_one_task() -> None:
    backend = ScheduledBackend({})
    _run_one_round(12, 16, backend)
    assert backend.started == [f"a{i}" for i in range(12)] and len(backend.tasks) == 1


def test_more_workers_start_only_once_a_call_waits() -> None:
    backend = ScheduledBackend({5: 4, 6: 2, 7: 2, 8: 2, 9: 2})  # a0..a4 answer at once
    _run_one_round(10, 4, backend)
    assert backend.started == [f"a{i}" for i in range(10)]
    first = backend.task_of["a0"]
    assert all(backend.task_of[f"a{i}"] == first for i in range(6))  # one task until a5 waits
    assert backend.task_of["a6"] != first and backend.peak == 4 and len(backend.tasks) == 4


class StuckBackend:
    """Every call waits forever; records how each one ended."""

    def __init__(self) -> None:
        self.entered = 0
        self.cancelled = 0

    async def respond(self, request: AgentRequest) -> AgentReply:
        self.entered += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        return None


@aio
async def test_cancelling_a_step_cancels_every_call_in_flight() -> None:
    backend = StuckBackend()
    run = Run(no_stop(team(6, backend="mock", max_rounds=2)).replace(concurrency=3), backends=backend)
    task = asyncio.create_task(run.step())
    for _ in range(5):
        await asyncio.sleep(0)
    assert backend.entered == 3  # the bound holds while every call waits
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert backend.cancelled == 3 and backend.entered == 3
    assert run.events[-1].kind == "RunEnded" and run.events[-1].detail == "cancelled"
    await run.aclose()
