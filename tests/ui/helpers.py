"""Helpers for the lab's widget tests (no browser: widgets are driven from Python)."""

from __future__ import annotations

import asyncio

from llmteams_lab.messages import AgentReply, AgentRequest


class GateBackend:
    """A per-agent backend whose replies wait for ``gate`` — a round held in flight."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def respond(self, request: AgentRequest) -> AgentReply:
        self.waiting.set()
        await self.gate.wait()
        q = request.question
        return AgentReply(request.agent, q.answer if q else None, 0.8, "ok", 10, 5, 0.1)

    async def aclose(self) -> None:
        return None


async def until(predicate, timeout: float = 5.0) -> None:
    """Yield to the loop until ``predicate()`` holds (fails the test after ``timeout``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)
