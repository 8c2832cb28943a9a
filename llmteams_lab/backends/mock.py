"""A scripted, zero-latency backend for tests and engine benchmarks.

Why: to measure the engine alone (no model, no numpy) and to drive exact scenarios —
an agent that answers X in round 2, raises a timeout in round 3, and so on.
"""

from __future__ import annotations

from typing import Callable, Union

from llmteams_lab.backends.base import Backend
from llmteams_lab.errors import BackendError
from llmteams_lab.messages import AgentReply, AgentRequest

__all__ = ["MockBackend"]

Script = Callable[[AgentRequest], Union[AgentReply, str, None, BaseException]]


class MockBackend(Backend):
    """Answers by ``script(request)``: an :class:`AgentReply`, an answer string, ``None``
    (answer the truth) or an exception instance (raised). Without a script every agent
    answers the truth with confidence 1. Every request is kept in ``calls``."""

    virtual_time = True  # replies come at once with their (scripted / recorded) latency

    def __init__(self, script: Script | None = None, *, latency_s: float = 0.0,
                 tokens_in: int = 0, tokens_out: int = 0, keep_calls: bool = True):
        self.script = script
        self.latency_s = latency_s
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out
        self.keep_calls = keep_calls
        self.calls: list[AgentRequest] = []
        self.closed = False

    async def respond(self, request: AgentRequest) -> AgentReply:
        if self.keep_calls:
            self.calls.append(request)
        out = self.script(request) if self.script is not None else None
        if isinstance(out, BaseException):
            if isinstance(out, BackendError) and out.latency_s is None:
                out.latency_s = self.latency_s  # virtual time: failures stay reproducible
            raise out
        if isinstance(out, AgentReply):
            return out
        answer = out if out is not None else (request.question.answer if request.question else None)
        return AgentReply(request.agent, answer, 1.0, "", self.tokens_in, self.tokens_out, self.latency_s)

    async def aclose(self) -> None:
        self.closed = True
