"""Token estimates for chat requests and replies (stdlib only).

Used when a server omits ``usage`` (the reply is then flagged ``usage_estimated``), by
``serve`` to report usage, and by the worst-case budget bound.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["estimate_prompt_tokens", "estimate_tokens"]


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` estimated from its length (about 4 characters per token)."""
    return (len(text) + 3) // 4


def estimate_prompt_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """Prompt tokens of chat ``messages``: each message's text plus 3 tokens of framing,
    plus 3 that prime the reply (OpenAI's published accounting for chat formats)."""
    return sum(3 + estimate_tokens(str(m.get("content") or "")) for m in messages) + 3
