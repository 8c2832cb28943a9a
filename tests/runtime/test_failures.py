"""Backend failures skip the agent; any other exception stops the run, keeping its events."""

from __future__ import annotations

import json

import pytest

from llmteams_lab import JsonlSink, Run, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.errors import BackendTimeoutError, RateLimitedError
from llmteams_lab.events import events_to_jsonl
from tests.support import aio, no_stop


@aio
async def test_backend_error_becomes_agent_failed_and_the_run_continues() -> None:
    def script(request):
        if request.agent == "a1" and request.round == 2:
            return BackendTimeoutError("no answer within 30 s", latency_s=30.0)
        return None

    async with Run(no_stop(team(4, backend="mock", max_rounds=3)), backends=MockBackend(script)) as run:
        await run.run()
    failed = [e for e in run.events if e.kind == "AgentFailed"]
    assert [(e.round, e.agent, e.fault, e.detail, e.t_end - e.t_start) for e in failed] == [
        (2, "a1", "timeout", "no answer within 30 s", 30.0)]
    replied = {(e.round, e.agent) for e in run.events if e.kind == "AgentReplied"}
    assert (2, "a1") not in replied and {(3, "a1"), (2, "a0")} <= replied
    senders = {e.agent for e in run.events if e.kind == "MessageSent" and e.round == 2}
    assert senders == {"a0", "a2", "a3"}  # a failed agent says nothing that round
    assert run.result().reason == "max_rounds" and run.round == 3
    round2 = next(e for e in run.events if e.kind == "RoundEnded" and e.round == 2)
    assert round2.t_end - round2.t_start == 30.0  # the timeout is the round's straggler


@aio
async def test_backend_error_without_virtual_latency_records_measured_time() -> None:
    class Failing:
        async def respond(self, request):
            raise RateLimitedError("slow down", retry_after=2.0)

        async def aclose(self):
            return None

    async with Run(team(2, backend="mock", max_rounds=1), backends=Failing()) as run:
        await run.run()
    failed = [e for e in run.events if e.kind == "AgentFailed"]
    assert [e.fault for e in failed] == ["rate_limited", "rate_limited"]
    assert all(0.0 <= e.t_end - e.t_start < 60.0 for e in failed)


@aio
async def test_non_backend_exception_keeps_every_event_in_memory_and_on_disk(tmp_path) -> None:
    def script(request):
        return KeyError("bug in a custom backend") if request.round == 3 and request.agent == "a2" else None

    path = tmp_path / "events.jsonl"
    run = Run(no_stop(team(4, backend="mock", max_rounds=5)), backends=MockBackend(script),
              sinks=[JsonlSink(path)])
    await run.step()
    await run.step()
    before = len(run.events)
    with pytest.raises(KeyError, match="bug in a custom backend"):
        await run.step()
    events = run.events
    assert len(events) == before + 2
    assert [e.kind for e in events[-2:]] == ["RoundStarted", "RunEnded"]
    assert events[-1].detail == "error" and run.result().reason == "error"
    assert path.read_text(encoding="utf-8") == events_to_jsonl(events)  # flushed before the error surfaced
    await run.aclose()
    assert [json.loads(line)["seq"] for line in path.read_text().splitlines()] == list(range(len(events)))
