"""Reading what an OpenAI-compatible server sent back: the completion's text, why it
failed, and whether a failure was a dropped connection (stdlib only, no SDK types).

Kept apart from the backend so these rules — which decide between "malformed",
"server error" and "timeout", and which keep the key out of messages — are small and
separately readable.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

from llmteams_lab.backends.redaction import scrub
from llmteams_lab.errors import MalformedOutputError

__all__ = ["StreamedCompletion", "completion_text", "connection_problem", "disconnected", "reported_usage", "scrub",
           "server_said"]

_DISCONNECTS = ("ServerDisconnectedError", "ClientOSError", "RemoteProtocolError", "ReadError")


def completion_text(data: Any) -> str | None:
    """The first choice's text; no choices or a refusal is a :class:`MalformedOutputError`."""
    if not isinstance(data, dict):
        raise MalformedOutputError("the server's response is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedOutputError("the server returned no choices")
    message = choices[0].get("message") or {}
    content, refusal = message.get("content"), message.get("refusal")
    if not content and isinstance(refusal, str) and refusal:
        raise MalformedOutputError(f"the model refused to answer: {refusal[:80]!r}")
    return content if isinstance(content, str) else None


def disconnected(exc: BaseException) -> bool:
    """Whether the root of ``exc`` is a dropped connection (the aiohttp transport reports a
    server disconnect as a connect timeout; the cause chain tells them apart)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ConnectionError) or type(exc).__name__ in _DISCONNECTS:
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


def connection_problem(exc: BaseException) -> str:
    """Why no connection could be made, from the root of ``exc``'s cause chain:
    ``"connection refused"``, ``"DNS lookup failed"``, ``"TLS handshake failed"`` — or
    ``""`` when the chain shows none of them (then it is no connection failure)."""
    seen = 0
    while exc is not None and seen < 12:
        name, text = type(exc).__name__, str(exc)
        if isinstance(exc, ConnectionRefusedError) or "Connection refused" in text:
            return "connection refused (is the server running?)"
        if isinstance(exc, socket.gaierror) or "DNS" in name or "Name or service not known" in text \
                or "nodename nor servname" in text or "Temporary failure in name resolution" in text:
            return "DNS lookup failed (is the host name right?)"
        if isinstance(exc, ssl.SSLError) or "SSL" in name or "Certificate" in name or "CERTIFICATE" in text:
            return "TLS handshake failed (https to a plain-http server, or a certificate problem?)"
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return ""


def server_said(exc: Any, key: str | None) -> str:
    """``": <the server's error message>"``, whitespace-flattened, shortened, key-free."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
    if not isinstance(message, str) or not message.strip():
        return ""
    text = scrub(" ".join(message.split()), key)
    return f": {text[:160]}"


_MAX_REPORTED = 10**12  # reported counts are clamped here: a larger one is an over-report anyway


def reported_usage(data: dict[str, Any]) -> tuple[int | None, int | None]:
    """The server's prompt and completion token counts; ``None`` for one that is absent
    or not a count (negative, fractional, boolean) — the caller then estimates."""
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    counts = []
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        counts.append(min(value, _MAX_REPORTED) if ok else None)
    return counts[0], counts[1]


class StreamedCompletion:
    """Streamed chunks folded into one completion: text and refusal pieces, the finish
    reason, the usage."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.refusal: list[str] = []
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.choices = False

    def take(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            raise MalformedOutputError("the server streamed a chunk that is not a JSON object")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                raise MalformedOutputError("the server streamed a choice that is not a JSON object")
            self.choices = True
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            if isinstance(delta.get("content"), str):
                self.parts.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self.refusal.append(delta["refusal"])
            if isinstance(choice.get("finish_reason"), str):
                self.finish = choice["finish_reason"]

    def completion(self) -> dict[str, Any]:
        message = {"content": "".join(self.parts), "refusal": "".join(self.refusal) or None}
        data: dict[str, Any] = {"choices": [{"message": message, "finish_reason": self.finish}] if self.choices else []}
        if self.usage is not None:
            data["usage"] = self.usage
        return data
