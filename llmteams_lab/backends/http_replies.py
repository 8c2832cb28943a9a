"""Reading what an OpenAI-compatible server sent back: the completion's text, why it
failed, and whether a failure was a dropped connection (stdlib only, no SDK types).

Kept apart from the backend so these rules — which decide between "malformed",
"server error" and "timeout", and which keep the key out of messages — are small and
separately readable.
"""

from __future__ import annotations

from typing import Any

from llmteams_lab.errors import MalformedOutputError

__all__ = ["completion_text", "disconnected", "scrub", "server_said"]

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


def scrub(text: str, key: str | None) -> str:
    """``text`` with the key replaced (a hostile server may echo our Authorization header)."""
    if key and len(key) >= 6:
        text = text.replace(key, "[redacted]")
    return text
