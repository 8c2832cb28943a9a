"""``proxy``: forward OpenAI-compatible requests to an upstream, injecting faults.

Put it between any client and any endpoint (OpenAI, vLLM, Ollama, ``serve``) to see
how the client copes with the network and the provider failing: the fault plan
(:mod:`serve.faults`, scheduled or by seeded probability) decides per request whether
to add latency, answer 429 with ``Retry-After`` or a 5xx, hang (a timeout), drop the
connection, or forward the upstream's reply with its JSON body truncated or garbled.

Paths are kept: a request for ``/v1/chat/completions`` goes to the upstream's origin
plus that path, so point clients at :attr:`Proxy.url` (the proxy's origin plus the
upstream's path, e.g. ``http://127.0.0.1:PORT/v1``). The client's ``Authorization``
header is passed through untouched and never logged. Streams (server-sent events) are
relayed chunk by chunk. Binds 127.0.0.1 unless told otherwise (another address needs
``allow_remote`` and an ``api_key`` that clients must send — the key of the upstream,
which the proxy relays); the ``/_admin`` routes (stats, faults) exist only on loopback
and need the key when one is set. Request limits and error handling: :mod:`serve.guards`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

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
from llmteams_lab.serve.responses import error_response, fault_response
from llmteams_lab.serve.running import Listening, is_loopback_host
from llmteams_lab.spec.endpoint import check_base_url
from llmteams_lab.workloads.deliberation.codec import parse_prompt

__all__ = ["Proxy"]

_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding", "content-encoding"}


class Proxy:
    """A fault-injecting reverse proxy in front of ``upstream`` (see the module doc)."""

    def __init__(self, upstream: str, *, faults: FaultPlan | None = None, host: str = "127.0.0.1",
                 port: int = 0, timeout_s: float = 600.0, allow_remote: bool = False, api_key: str | None = None,
                 limits: Limits | None = None):
        check_base_url("upstream", upstream)
        check_access(host, allow_remote, api_key)
        self.__key = api_key
        self.limits = limits or Limits()
        parts = urlsplit(upstream)
        self.upstream = upstream.rstrip("/")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._prefix = parts.path.rstrip("/")
        self.faults = faults or FaultPlan()
        self.timeout_s = timeout_s
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.statuses: Counter[int] = Counter()
        self.url = ""
        self._session: aiohttp.ClientSession | None = None
        self._listening = Listening(self._app(is_loopback_host(host)), host, port,
                                    header_timeout_s=self.limits.header_timeout_s)

    def __repr__(self) -> str:
        return f"<Proxy {self.url or 'not started'} -> {self.upstream}, {len(self.faults.rules)} fault rule(s)>"

    async def start(self) -> str:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
                                              timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        port = await self._listening.start()
        host = self._listening.host
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}{self._prefix}"
        return self.url

    async def stop(self) -> None:
        await self._listening.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _app(self, admin: bool) -> web.Application:
        app = web.Application(client_max_size=self.limits.max_body_bytes, middlewares=[guard_errors])
        if admin:
            app.router.add_get("/_admin/stats", self._stats)
            app.router.add_post("/_admin/faults", self._add_faults)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        return app

    def stats(self) -> dict[str, Any]:
        return {"requests": self.requests, "in_flight": self.in_flight, "peak_in_flight": self.peak_in_flight,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "faults_fired": dict(self.faults.fired)}

    async def _stats(self, request: web.Request) -> web.Response:
        if not authorized(request, self.__key):
            return refused()
        return web.json_response(self.stats())

    async def _add_faults(self, request: web.Request) -> web.Response:
        if not authorized(request, self.__key):
            return refused()
        return await add_fault_rules(request, self.faults, self.limits)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            response = await self._relay(request)
        finally:
            self.in_flight -= 1
        self.statuses[response.status] += 1
        return response

    async def _relay(self, request: web.Request) -> web.StreamResponse:
        if not authorized(request, self.__key):
            return refused()
        raw = await read_body(request, self.limits)
        if isinstance(raw, web.Response):
            return raw
        fault = self._pick(raw)
        early = await fault_response(request, fault)
        if early is not None:
            return early
        if fault is not None and fault.kind == "slow_reply":
            await asyncio.sleep(fault.wait_s or 0.0)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        assert self._session is not None, "the proxy is not started"
        try:
            async with self._session.request(request.method, self._origin + request.path_qs, headers=headers,
                                             data=raw or None, allow_redirects=False) as upstream:
                return await self._answer(request, upstream, fault)
        except (aiohttp.ClientError, TimeoutError) as err:
            return error_response(502, f"the proxy could not reach the upstream ({type(err).__name__})",
                                  "server_error", "upstream_unreachable")

    def _pick(self, raw: bytes) -> FaultRule | None:
        agent, number, structured = None, None, False
        body = read_json(raw)[0] if raw else None  # what the proxy cannot read, it forwards as it is
        if isinstance(body, dict):
            facts = parse_prompt(body.get("messages"))
            agent, number = (facts.agent, facts.round) if facts else (None, None)
            structured = "response_format" in body
        return self.faults.pick(raw, agent, number, structured)

    async def _answer(self, request: web.Request, upstream: aiohttp.ClientResponse,
                      fault: FaultRule | None) -> web.StreamResponse:
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
        kind = fault.kind if fault is not None else None
        if upstream.content_type == "text/event-stream" and kind not in ("malformed", "truncated"):
            response = web.StreamResponse(status=upstream.status, headers=headers)
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
        body = await upstream.read()
        if kind == "truncated":
            body = body[: len(body) // 2]
        elif kind == "malformed":
            body = _garbled(body)
        return web.Response(status=upstream.status, body=body, headers=headers)


def _garbled(body: bytes) -> bytes:
    """The body with its JSON broken (quotes swapped): a JSON body, or the first event of
    a server-sent stream — its ``data:`` line, so the client's decoder sees bad JSON."""
    if body.startswith(b"data:"):
        start = body.index(b"{") if b"{" in body[:16] else 5
        return body[:start] + b"{" + body[start + 1:].replace(b'"', b"'", 3)
    return b"{" + body[1:].replace(b'"', b"'", 3) if body else b"{"
