"""Fault responses shared by ``serve`` and ``proxy``: errors, hangs and dropped connections.

Each mimics what a real provider (or a broken network) does, so a client's handling is
exercised for real: OpenAI's JSON error envelope with the status, ``Retry-After`` on
429, a connection aborted without a response, a request that hangs.
"""

from __future__ import annotations

import asyncio
from typing import Mapping

from aiohttp import web

from llmteams_lab.serve import payloads
from llmteams_lab.serve.faults import FaultRule

__all__ = ["drop_connection", "error_response", "fault_response"]


def error_response(status: int, message: str, kind: str, code: str | None = None,
                   headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=payloads.error_body(message, kind, code),
                        content_type="application/json", headers=headers)


async def fault_response(request: web.Request, fault: FaultRule | None) -> web.StreamResponse | None:
    """The response of a fault that replaces the reply (``None``: serve the reply)."""
    if fault is None:
        return None
    if fault.kind == "unauthorized":
        return error_response(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
    if fault.kind == "rate_limit":
        headers = {}
        if fault.retry_after_s is not None:
            headers = {"retry-after-ms": str(round(fault.retry_after_s * 1000)),
                       "retry-after": str(max(1, round(fault.retry_after_s)))}
        return error_response(429, "Rate limit reached for requests.", "requests", "rate_limit_exceeded", headers)
    if fault.kind == "server_error":
        return error_response(fault.status, "The server had an error while processing your request.",
                              "server_error")
    if fault.kind == "reject_structured":
        return error_response(400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported "
                                   "with this model.", "invalid_request_error", "unsupported_parameter")
    if fault.kind in ("timeout", "reset"):
        if fault.kind == "timeout":
            await asyncio.sleep(30.0 if fault.wait_s is None else fault.wait_s)
        return await drop_connection(request)
    return None


async def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the connection without a response: the client sees a reset / disconnect."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError  # nothing can be written; end the handler quietly
