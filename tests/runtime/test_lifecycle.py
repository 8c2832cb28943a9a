"""The run's lifecycle: one specific error for each misuse."""

from __future__ import annotations

import asyncio

import pytest

from llmteams_lab import (
    Run,
    RunClosedError,
    RunFailedError,
    RunFinishedError,
    StepInProgressError,
    run_sync,
    team,
)
from llmteams_lab.backends import MockBackend
from llmteams_lab.messages import AgentReply, AgentRequest
from tests.support import aio


class GateBackend:
    """Answers only when ``gate`` is set, so a step can be caught in flight."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()
        self.closed = False

    async def respond(self, request: AgentRequest) -> AgentReply:
        self.waiting.set()
        await self.gate.wait()
        return AgentReply(request.agent, request.question.answer, 0.9)

    async def aclose(self) -> None:
        self.closed = True


def spec(**kw):
    return team(3, backend="mock", max_rounds=2, **kw)


@aio
async def test_step_after_finish_raises_run_finished() -> None:
    async with Run(spec()) as run:
        summary = await run.step()
        assert summary.done and summary.reason == "consensus" and run.status == "finished"
        with pytest.raises(RunFinishedError, match="already ended \\(consensus\\) after round 1"):
            await run.step()


@aio
async def test_step_after_close_raises_run_closed_and_close_is_idempotent() -> None:
    backend = MockBackend()
    run = Run(spec(), backends=backend)
    await run.step()
    await run.aclose()
    await run.aclose()
    assert backend.closed and run.status == "closed"
    with pytest.raises(RunClosedError, match="is closed"):
        await run.step()


@aio
async def test_closing_an_unfinished_run_records_why() -> None:
    run = Run(team(3, backend="mock", max_rounds=5).replace(protocol={"stop_at_consensus": False}))
    await run.step()
    await run.aclose()
    assert run.events[-1].kind == "RunEnded" and run.events[-1].detail == "closed"
    assert run.result().reason == "closed"


@aio
async def test_concurrent_step_raises_step_in_progress() -> None:
    backend = GateBackend()
    run = Run(spec(), backends=backend)
    first = asyncio.create_task(run.step())
    await backend.waiting.wait()
    with pytest.raises(StepInProgressError, match="already stepping round 1"):
        await run.step()
    backend.gate.set()
    summary = await first
    assert summary.round == 1 and run.round == 1
    await run.aclose()


@aio
async def test_failed_run_raises_run_failed() -> None:
    def script(request):
        return ValueError("not a backend error") if request.round == 2 else None

    run = Run(team(3, backend="mock", max_rounds=4).replace(protocol={"stop_at_consensus": False}),
              backends=MockBackend(script))
    await run.step()
    with pytest.raises(ValueError, match="not a backend error"):
        await run.step()
    assert run.status == "failed" and run.done
    with pytest.raises(RunFailedError, match="failed in round 2"):
        await run.step()
    await run.aclose()


@aio
async def test_cancelled_step_is_recorded_and_fails_the_run() -> None:
    backend = GateBackend()
    run = Run(spec(), backends=backend)
    task = asyncio.create_task(run.step())
    await backend.waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert run.events[-1].kind == "RunEnded" and run.events[-1].detail == "cancelled"
    with pytest.raises(RunFailedError):
        await run.step()
    await run.aclose()


@aio
async def test_run_sync_inside_a_running_loop_blocks_and_gives_the_same_run() -> None:
    """In a kernel (a running loop) run_sync runs on a worker thread's loop: same events."""
    inside = run_sync(spec())
    outside = await asyncio.to_thread(run_sync, spec())
    assert inside.records == outside.records and inside.reason == outside.reason


def test_run_sync_runs_to_the_end_outside_a_loop() -> None:
    result = run_sync(team(4, seed=2, max_rounds=3))
    assert result.reason in ("consensus", "max_rounds") and 1 <= result.rounds <= 3


@aio
async def test_run_loops_over_step_and_respects_max_rounds() -> None:
    async with Run(team(4, max_rounds=6).replace(protocol={"stop_at_consensus": False})) as run:
        await run.run(max_rounds=2)
        assert run.round == 2 and not run.done
        result = await run.run()
        assert run.round == 6 and result.reason == "max_rounds" and result.rounds == 6
