"""OpenAI-shaped bodies: chat completions, stream chunks, model lists and errors.

Kept apart from the HTTP handlers so the shapes (which clients parse) are in one place.
Bodies are built as bytes with ``json.dumps`` — the server's cost per reply is mostly
this, and it happens while the simulated latency is already running.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

__all__ = ["completion", "error_body", "model_list", "stream_chunks", "usage"]


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


def model_list(names: Iterable[str]) -> dict[str, Any]:
    return {"object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": "llmteams-lab"} for n in names]}


def error_body(message: str, kind: str, code: str | None = None) -> bytes:
    """OpenAI's error envelope, which the SDK reads for its exception message."""
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()
