"""What keeps ``serve`` and ``proxy`` from being abused: who may connect, how much and
how slowly they may send, and what they see when something breaks.

* **Access** — both bind 127.0.0.1 by default. Another address (reachable from other
  machines) needs ``allow_remote`` *and* a key (``check_access``): an open endpoint on
  a network would answer anyone, and the proxy would relay anyone to its upstream.
  Requests must then carry ``Authorization: Bearer <key>`` (compared in constant time),
  the ``/_admin`` routes included.
* **Size** — a body longer than ``max_body_bytes`` is refused with 413 *before* it is
  read: from its ``Content-Length`` at once, or as soon as a chunked body passes the
  limit (aiohttp's ``client_max_size``), so ten 60 MB bodies cost nothing.
* **Time** — a client must finish its request headers within ``header_timeout_s`` of
  connecting (or of its previous response: aiohttp's keep-alive timer, which runs from
  the connection's start and is not reset by trickled bytes), and its body within
  ``body_timeout_s`` (408); slow clients are disconnected, not waited for.
* **Errors** — whatever a handler raises becomes a JSON error response (400 for bad
  input, 500 otherwise) without a traceback; the detail goes to the ``llmteams_lab.serve``
  logger at DEBUG.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web

from llmteams_lab.backends.connection import is_loopback_host
from llmteams_lab.errors import ServiceError
from llmteams_lab.serve.responses import error_response

__all__ = ["Limits", "add_fault_rules", "authorized", "check_access", "guard_errors", "read_body", "read_json",
           "refused"]

_log = logging.getLogger("llmteams_lab.serve")
MAX_JSON_DEPTH = 32  # chat requests nest a handful of levels (messages, content parts, schemas)


@dataclass(frozen=True)
class Limits:
    """Request limits of one server (see the module docstring)."""

    max_body_bytes: int = 4 * 2**20
    header_timeout_s: float = 30.0
    body_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not (isinstance(self.max_body_bytes, int) and self.max_body_bytes > 0):
            raise ServiceError(f"max_body_bytes must be a positive integer (got {self.max_body_bytes!r})")
        for name in ("header_timeout_s", "body_timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value <= 86_400):
                raise ServiceError(f"{name} must be a number of seconds in (0, 86400] (got {value!r})")


def check_access(host: str, allow_remote: bool, key: str | None) -> None:
    """Refuse to listen beyond this machine unless asked to, and then only with a key."""
    if is_loopback_host(host):
        return
    if not allow_remote:
        raise ServiceError(f"{host} is reachable from other machines; pass allow_remote (--allow-remote) and a key "
                           "(--api-key-env) to listen there, or keep the default 127.0.0.1")
    if not key:
        raise ServiceError(f"listening on {host} (reachable from other machines) needs a key: set --api-key-env")


def authorized(request: web.Request, key: str | None) -> bool:
    """Whether the request carries ``Authorization: Bearer <key>`` (any request, without a key)."""
    if key is None:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {key}".encode())


def refused() -> web.Response:
    """The 401 of a request without the configured key (OpenAI's words)."""
    return error_response(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")


async def add_fault_rules(request: web.Request, plan: Any, limits: Limits) -> web.Response:
    """``POST /_admin/faults``: add the JSON rule (or list of rules) to ``plan``; a bad
    body or rule is a 400 naming the problem."""
    raw = await read_body(request, limits)
    if isinstance(raw, web.Response):
        return raw
    rules, problem = read_json(raw)
    if problem:
        return error_response(400, problem, "invalid_request_error")
    try:
        added = [plan.add(rule) for rule in (rules if isinstance(rules, list) else [rules])]
    except (ValueError, TypeError) as err:
        return error_response(400, f"bad fault rules: {str(err)[:200]}", "invalid_request_error")
    return web.json_response({"added": len(added), "rules": len(plan.rules)})


async def read_body(request: web.Request, limits: Limits) -> bytes | web.Response:
    """The request's body, or the error response refusing it (413 too large, 408 too slow)."""
    length = request.content_length
    if length is not None and length > limits.max_body_bytes:
        response = error_response(413, f"The request body is {length} bytes; the limit is "
                                       f"{limits.max_body_bytes} bytes.", "invalid_request_error", "request_too_large")
        response.force_close()  # the unread body is not waited for
        return response
    try:
        async with asyncio.timeout(limits.body_timeout_s):
            return await request.read()
    except TimeoutError:
        response = error_response(408, f"The request body did not arrive within {limits.body_timeout_s:g} s.",
                                  "invalid_request_error", "request_timeout")
        response.force_close()
        return response
    except web.HTTPRequestEntityTooLarge:
        response = error_response(413, f"The request body is larger than {limits.max_body_bytes} bytes.",
                                  "invalid_request_error", "request_too_large")
        response.force_close()
        return response


def read_json(raw: bytes) -> tuple[Any, str]:
    """``(value, "")`` or ``(None, why)``: bad UTF-8, bad JSON, an integer of thousands
    of digits, or nesting deeper than :data:`MAX_JSON_DEPTH` — never an exception."""
    try:
        value = json.loads(raw)
    except RecursionError:
        return None, f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels."
    except ValueError:  # bad JSON, bad UTF-8, an integer of more than 4,300 digits
        return None, "We could not parse the JSON body of your request."
    stack = [(value, 1)]
    while stack:  # iterative: the depth check itself must not recurse
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return None, f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels."
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value, ""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Any exception a handler lets out becomes a JSON 500 without a traceback."""
    try:
        return await handler(request)
    except (web.HTTPException, asyncio.CancelledError):
        raise
    except Exception as err:  # noqa: BLE001 - the client gets a clean error; the detail is logged
        _log.debug("%s %s failed: %s: %s", request.method, request.path, type(err).__name__, err)
        return error_response(500, "The server had an error while processing your request.", "server_error")
