"""OpenAI-shaped bodies: chat completions, stream chunks, model lists and errors.

Kept apart from the HTTP handlers so the shapes (which clients parse) are in one place.
Bodies are built as bytes with ``json.dumps`` — the server's cost per reply is mostly
this, and it happens while the simulated latency is already running.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

__all__ = ["check_chat_request", "completion", "error_body", "model_list", "stream_chunks", "usage"]


def completion(rid: str, model: str, content: str, finish: str, usage: dict[str, int] | None,
               created: int, *, choices: bool = True) -> dict[str, Any]:
    """A ``chat.completion`` object (``usage`` left out when ``None``)."""
    body: dict[str, Any] = {
        "id": rid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": finish}] if choices else [],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def usage(prompt: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion_tokens,
            "total_tokens": prompt + completion_tokens}


def stream_chunks(rid: str, model: str, content: str, finish: str, usage_row: dict[str, int] | None,
                  created: int, pieces: int = 4) -> Iterable[bytes]:
    """Server-sent events of a streamed completion: role, content pieces, finish, usage
    (when asked for with ``stream_options.include_usage``), then ``[DONE]``."""
    def chunk(delta: dict[str, Any] | None, reason: str | None = None, extra: dict | None = None) -> bytes:
        row: dict[str, Any] = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model,
                               "choices": [] if delta is None else
                               [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]}
        if extra:
            row.update(extra)
        return b"data: " + json.dumps(row).encode() + b"\n\n"

    yield chunk({"role": "assistant", "content": ""})
    step = max(1, -(-len(content) // pieces))
    for start in range(0, len(content), step):
        yield chunk({"content": content[start:start + step]})
    yield chunk({}, finish)
    if usage_row is not None:
        yield chunk(None, extra={"usage": usage_row})
    yield b"data: [DONE]\n\n"


def check_chat_request(body: Any) -> str:
    """Why a chat-completions body is unusable, as OpenAI words it ('' when it is fine):
    every field ``serve`` reads is checked for its type, so ill-typed input is a 400."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return "'messages' must be a non-empty array of message objects"
    for i, m in enumerate(messages):
        content = m.get("content")
        if not (content is None or isinstance(content, str) or
                (isinstance(content, list) and all(isinstance(part, dict) for part in content))):
            return f"'messages[{i}].content' must be a string or an array of content parts"
    for name, types, what in _FIELD_TYPES:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) and bool not in types or not isinstance(value, types)):
            return f"Invalid type for '{name}': expected {what}, got {type(value).__name__}."
    options = body.get("stream_options")
    if isinstance(options, dict) and not isinstance(options.get("include_usage", False), bool):
        return "Invalid type for 'stream_options.include_usage': expected a boolean."
    return ""


_FIELD_TYPES = (("stream", (bool,), "a boolean"), ("stream_options", (dict,), "an object"),
                ("max_tokens", (int,), "an integer"), ("max_completion_tokens", (int,), "an integer"),
                ("seed", (int,), "an integer"), ("temperature", (int, float), "a number"),
                ("top_p", (int, float), "a number"), ("response_format", (dict,), "an object"),
                ("n", (int,), "an integer"))


def model_list(names: Iterable[str]) -> dict[str, Any]:
    return {"object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": "llmteams-lab"} for n in names]}


def error_body(message: str, kind: str, code: str | None = None) -> bytes:
    """OpenAI's error envelope, which the SDK reads for its exception message."""
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()
