"""The ``openai`` backend's wire: posting a body through the SDK client, folding a
streamed completion into the shape of a JSON one, and translating the SDK's exceptions
into our error tree (naming the endpoint, never the key).

Apart from :mod:`backends.openai` (the backend: client lifetime, retries, limits, the
codec) so each reads as one concept; these two are the only modules that import the
``openai`` SDK, both lazily.
"""

from __future__ import annotations

import json
from typing import Any

from llmteams_lab.backends.http_replies import (
    StreamedCompletion,
    completion_text,
    connection_problem,
    disconnected,
    scrub,
    server_said,
)
from llmteams_lab.backends.retrying import parse_retry_after
from llmteams_lab.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    ConnectionFailedError,
    MalformedOutputError,
    RateLimitedError,
    ServerError,
)

__all__ = ["http_module", "posted", "refuses_schema", "streamed", "translate_error"]


def http_module() -> Any:
    """The HTTP library the installed SDK is built on (``httpx2`` for openai>=3, else httpx)."""
    try:
        import httpx2 as http
    except ImportError:  # pragma: no cover - older SDKs
        import httpx as http
    return http


async def posted(client: Any, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    response = await client.post("/chat/completions", cast_to=http_module().Response, body=body)
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise MalformedOutputError(f"the server's response is not valid JSON ({len(response.content)} bytes, "
                                   f"HTTP {response.status_code})") from None
    return data, completion_text(data)


async def streamed(client: Any, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A streamed completion, folded into the shape of a JSON one and validated the same
    way (:func:`completion_text`: no choices, a refusal); plus what only a stream can get
    wrong: an event that is not JSON, or a stream that ends before the model finished
    (no ``finish_reason``: cut short) — each a :class:`MalformedOutputError`."""
    import openai

    folded = StreamedCompletion()
    stream = await client.post("/chat/completions", cast_to=object, body=body, stream=True,
                               stream_cls=openai.AsyncStream[object])
    try:
        async for chunk in stream:
            folded.take(chunk)
    except ValueError:  # an event whose data is not JSON (the SDK's decoder raises JSONDecodeError)
        raise MalformedOutputError("the server streamed an event that is not valid JSON") from None
    finally:
        await stream.close()  # releases the connection even when the stream broke off
    data = folded.completion()
    content = completion_text(data)
    if folded.finish is None:
        raise MalformedOutputError(f"the stream ended before the model finished (no finish_reason after "
                                   f"{len(content or '')} characters): the reply was cut short")
    return data, content


def refuses_schema(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    return status in (400, 422)


def translate_error(exc: BaseException, url: str, key_env: str, key: str | None) -> BackendError:
    """An SDK/transport exception as one of ours, with a message that names the endpoint
    and never contains the key (the server's own words are scrubbed and shortened)."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        status, said = exc.status_code, server_said(exc, key)
        retry_after = parse_retry_after(exc.response.headers)
        if status in (401, 403):
            return AuthenticationError(f"HTTP {status} from {url}: the API key in ${key_env} was refused{said}")
        if status == 429:
            wait = "" if retry_after is None else f", retry after {retry_after:g} s"
            return RateLimitedError(f"HTTP 429 from {url}: rate limited{wait}{said}", retry_after=retry_after)
        if status >= 500 or status in (408, 409):
            return ServerError(f"HTTP {status} from {url}{said}", retry_after=retry_after)
        return BackendError(f"HTTP {status} from {url}: the request was refused{said}")
    problem = connection_problem(exc)  # the aiohttp transport reports these as connect *timeouts*
    if problem and isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return ConnectionFailedError(f"could not connect to {url}: {problem}")
    if isinstance(exc, openai.APITimeoutError) and not disconnected(exc):
        return BackendTimeoutError(f"timed out waiting for {url}")
    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        why = "the connection was dropped" if disconnected(exc) else "could not connect"
        return ServerError(f"{why} ({url})")
    return BackendError(f"{type(exc).__name__} talking to {url}{scrub(': ' + str(exc), key)[:200]}")
