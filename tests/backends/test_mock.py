"""The scripted mock backend used by engine tests and benchmarks."""

from __future__ import annotations

import pytest

from llmteams_lab.backends import Backend, MockBackend
from llmteams_lab.errors import ServerError
from llmteams_lab.messages import AgentReply, AgentRequest, Question
from tests.support import aio

Q = Question("q", "?", ("A", "B"), "B")


def req(agent="a0", round=1) -> AgentRequest:
    return AgentRequest("r", round, agent, "member", Q)


@aio
async def test_script_forms() -> None:
    replies = {"a0": None, "a1": "A", "a2": AgentReply("a2", "A", 0.3, "custom")}
    backend = MockBackend(lambda r: replies[r.agent], latency_s=0.25, tokens_in=5, tokens_out=6)
    assert await backend.respond(req("a0")) == AgentReply("a0", "B", 1.0, "", 5, 6, 0.25)
    assert (await backend.respond(req("a1"))).answer == "A"
    assert await backend.respond(req("a2")) is replies["a2"]
    assert [c.agent for c in backend.calls] == ["a0", "a1", "a2"]
    assert isinstance(backend, Backend)


@aio
async def test_scripted_errors_are_raised_with_virtual_latency() -> None:
    backend = MockBackend(lambda r: ServerError("502"), latency_s=1.5, keep_calls=False)
    with pytest.raises(ServerError) as info:
        await backend.respond(req())
    assert info.value.latency_s == 1.5 and backend.calls == []
    await backend.aclose()
    assert backend.closed
