"""``serve``: an OpenAI-compatible endpoint whose model is a simulated agent profile.

Routes (aiohttp):

``GET  /v1/models``             the profile names (any model name is accepted; unknown
                                names are answered by the default profile)
``POST /v1/chat/completions``   a JSON completion, or server-sent events with
                                ``"stream": true``
``GET  /_admin/stats``          request counters and the in-flight gauge (loopback only)
``POST /_admin/faults``         add fault rules (a JSON list; see :mod:`serve.faults`)
``POST /_admin/reset``          clear the rules and counters

Hardened as :mod:`serve.guards` says: 127.0.0.1 unless ``allow_remote`` (and then a
key), bodies over ``limits.max_body_bytes`` refused unread, slow headers and bodies cut
off, ill-typed or deeply nested JSON a 400, never a traceback.

The reply is computed as soon as a request arrives; then the handler sleeps for the
simulated latency — so a burst of requests really is served concurrently, and the
``in_flight``/``peak_in_flight`` counters show how many calls a client has open.

With ``api_key`` set, requests must carry ``Authorization: Bearer <key>`` (401
otherwise), the ``/_admin`` routes included. The key is compared in constant time and
never logged, echoed or shown.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from collections import Counter
from typing import Any, Mapping

from aiohttp import web

from llmteams_lab.serve import payloads
from llmteams_lab.serve.agent import ChatReply, answer_chat
from llmteams_lab.serve.faults import FaultPlan, FaultRule
from llmteams_lab.serve.guards import (
    Limits,
    add_fault_rules,
    authorized,
    check_access,
    guard_errors,
    read_body,
    read_json,
    refused,
)
from llmteams_lab.serve.responses import error_response as _error
from llmteams_lab.serve.responses import fault_response
from llmteams_lab.serve.running import Listening, is_loopback_host
from llmteams_lab.spec import AgentSpec
from llmteams_lab.workloads.deliberation.codec import parse_prompt

__all__ = ["DEFAULT_MODEL", "Server", "ServerStats"]

DEFAULT_MODEL = "llmteams-sim"
_PROSE = "Let me think about this question carefully. Several options look plausible to me."
# how chat models state a choice when they ignore the requested format (the 'chatty' fault)
_CHATTY = ("After weighing my teammates' answers I'll go with {a}. Confidence: {p}%.",
           "**Answer: {a}**\n\nConfidence: {c}",
           "The answer is ({a}). I'm fairly confident, around {p}%.",
           "Let me work through the options one by one.\n\nMy final answer: {a}.",
           "I choose option {a} because it is the only one that holds up. Confidence: {p}%",
           "$$\\boxed{{{a}}}$$")


class ServerStats:
    """Counters of one server (read them from any thread)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.statuses: Counter[int] = Counter()
        self.models: Counter[str] = Counter()

    def enter(self) -> None:
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def snapshot(self) -> dict[str, Any]:
        return {"requests": self.requests, "in_flight": self.in_flight, "peak_in_flight": self.peak_in_flight,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}, "models": dict(self.models)}


class Server:
    """The simulated endpoint (see the module docstring). ``await start()`` → base URL.

    profile   the default model's :class:`AgentSpec` (competence, conformity,
              latency_s, latency_jitter, reply_tokens ...); ``models`` adds named ones
    seed      draws per (seed, agent, round); a request's own ``seed`` field wins
    answers   question text → right option, for custom questions it cannot work out
    """

    def __init__(self, profile: AgentSpec | None = None, *, models: Mapping[str, AgentSpec] | None = None,
                 seed: int = 0, api_key: str | None = None, answers: Mapping[str, str] | None = None,
                 faults: FaultPlan | None = None, host: str = "127.0.0.1", port: int = 0,
                 allow_remote: bool = False, limits: Limits | None = None):
        check_access(host, allow_remote, api_key)
        self.profile = profile or AgentSpec(DEFAULT_MODEL)
        self.models = dict(models or {})
        self.seed = seed
        self.answers = dict(answers or {})
        self.faults = faults or FaultPlan(seed=seed)
        self.stats = ServerStats()
        self.url = ""
        self.__key = api_key
        self.limits = limits or Limits()
        self._ids = itertools.count(1)
        self._listening = Listening(self._app(is_loopback_host(host)), host, port,
                                    header_timeout_s=self.limits.header_timeout_s)

    def __repr__(self) -> str:
        auth = "key required" if self.__key else "no key"
        return f"<Server {self.url or 'not started'} ({auth}), {len(self.models) + 1} model(s)>"

    async def start(self) -> str:
        port = await self._listening.start()
        host = self._listening.host
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"
        return self.url

    async def stop(self) -> None:
        await self._listening.stop()

    def _app(self, admin: bool) -> web.Application:
        app = web.Application(client_max_size=self.limits.max_body_bytes, middlewares=[guard_errors])
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        if admin:  # never expose the controls beyond this machine
            app.router.add_get("/_admin/stats", self._stats)
            app.router.add_post("/_admin/faults", self._add_faults)
            app.router.add_post("/_admin/reset", self._reset)
        return app

    # --- routes ------------------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return refused()
        return web.json_response(payloads.model_list([DEFAULT_MODEL, *sorted(self.models)]))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.stats.enter()
        try:
            response = await self._complete(request)
        finally:
            self.stats.in_flight -= 1
        self.stats.statuses[response.status] += 1
        return response

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return refused()
        raw = await read_body(request, self.limits)
        if isinstance(raw, web.Response):
            return raw
        body, problem = read_json(raw)
        problem = problem or payloads.check_chat_request(body)
        if problem:
            return _error(400, problem, "invalid_request_error")
        facts = parse_prompt(body["messages"])
        fault = self.faults.pick(raw, facts.agent if facts else None, facts.round if facts else None,
                                 "response_format" in body)
        early = await fault_response(request, fault)
        if early is not None:
            return early
        self.stats.models[body["model"]] += 1
        reply = answer_chat(body, self.models.get(body["model"], self.profile), self.seed, self.answers, facts)
        extra = (fault.wait_s or 0.0) if fault is not None and fault.kind == "slow_reply" else 0.0
        await asyncio.sleep(reply.latency_s + extra)
        if body.get("stream"):
            return await self._stream(request, body, reply, fault)
        return self._body_response(body, reply, fault)

    def _body_response(self, body: dict, reply: ChatReply, fault: FaultRule | None) -> web.Response:
        kind = fault.kind if fault else None
        if kind == "malformed":
            return web.Response(body=b'{"id": "chatcmpl-x", "choices": [{"message": {"content": "{\\"ans',
                                content_type="application/json")
        content = _content(reply, kind)
        usage = None if kind == "no_usage" else _usage(reply, fault)
        data = payloads.completion(f"chatcmpl-{next(self._ids)}", body["model"], content, reply.finish_reason,
                                   usage, int(time.time()), choices=kind != "no_choices")
        encoded = json.dumps(data).encode()
        if kind == "truncated":
            encoded = encoded[: len(encoded) // 2]
        return web.Response(body=encoded, content_type="application/json")

    async def _stream(self, request: web.Request, body: dict, reply: ChatReply,
                      fault: FaultRule | None) -> web.StreamResponse:
        kind = fault.kind if fault else None
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and kind != "no_usage"
        usage = _usage(reply, fault) if include_usage else None
        content = _content(reply, kind)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        chunks = list(payloads.stream_chunks(f"chatcmpl-{next(self._ids)}", body["model"], content,
                                             reply.finish_reason, usage, int(time.time())))
        if kind == "truncated":  # the stream breaks off halfway: no finish_reason, no [DONE]
            chunks = chunks[: max(1, len(chunks) // 2)]
        for chunk in chunks:
            if kind == "malformed":
                chunk = b"data: {not json\n\n"
            await response.write(chunk)
        await response.write_eof()
        return response

    async def _stats(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return refused()
        return web.json_response({**self.stats.snapshot(), "faults_fired": dict(self.faults.fired)})

    async def _add_faults(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return refused()
        return await add_fault_rules(request, self.faults, self.limits)

    async def _reset(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return refused()
        self.faults.clear()
        self.stats.reset()
        return web.json_response({"reset": True})

    def _authorized(self, request: web.Request) -> bool:
        return authorized(request, self.__key)


def _usage(reply: ChatReply, fault: FaultRule | None) -> dict[str, int]:
    """The reply's usage — multiplied by the fault's factor for an ``overreport``."""
    factor = (fault.factor or 10.0) if fault is not None and fault.kind == "overreport" else 1.0
    return payloads.usage(round(reply.prompt_tokens * factor), round(reply.completion_tokens * factor))


def _content(reply: ChatReply, kind: str | None) -> str:
    """The reply's text: the JSON asked for, or what a fault makes of it (``prose``: no
    answer at all; ``chatty``: the same answer stated in prose, in one of several styles)."""
    if kind == "prose":
        return _PROSE
    if kind != "chatty":
        return reply.content
    said = json.loads(reply.content) if reply.content.startswith("{") else {}
    answer, confidence = said.get("answer", "A"), float(said.get("confidence", 0.5))
    style = _CHATTY[zlib.crc32(reply.content.encode()) % len(_CHATTY)]
    return style.format(a=answer, p=round(confidence * 100), c=f"{confidence:.2f}")
