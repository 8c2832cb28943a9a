"""The most one call can use — the bounds a hard budget is checked against.

A budget is a promise only if the worst case of a round is a true upper bound:

* **prompt tokens** ≤ the prompt's UTF-8 bytes plus chat framing. Every byte-level
  tokenizer (byte-level BPE as in GPT-4o, Llama 3, Qwen, Mistral's Tekken; SentencePiece
  with byte fallback) spends at least one byte per token, so a text of b bytes is at
  most b tokens. The chat template adds tokens that are not in the text: per message a
  few special tokens and the role (``FRAME_PER_MESSAGE`` + the role's bytes), per
  request a begin token, the reply's header and, for some templates, a line such as a
  date (``FRAME_PER_REQUEST``). A template that inserts more fixed text than that can
  exceed the bound; such a call is caught after the fact (below);
* **completion tokens** ≤ the ``max_tokens`` sent with the call;
* anything a server reports above these is an **over-report**: the backend raises
  :class:`~llmteams_lab.errors.UsageAboveBoundError` and the run stops before its next call.

:func:`profile_tokens` is the same bound for simulated agents, whose token use follows
their profile exactly (``prompt_tokens + tokens_per_message · messages read`` in,
``reply_tokens`` out).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from llmteams_lab.spec.roster import column

__all__ = ["FRAME_PER_MESSAGE", "FRAME_PER_REQUEST", "ProfileTokens", "inbox_sizes", "profile_tokens",
           "prompt_token_bound"]

FRAME_PER_MESSAGE = 16  # special tokens a template puts around one message, besides its role
FRAME_PER_REQUEST = 64  # tokens a template adds once: begin-of-text, the reply's header, a date line


def prompt_token_bound(messages: Sequence[Mapping[str, Any]]) -> int:
    """At most this many prompt tokens for chat ``messages`` (see the module docstring)."""
    total = FRAME_PER_REQUEST
    for m in messages:
        total += FRAME_PER_MESSAGE + len(str(m.get("role") or "").encode("utf-8"))
        total += len(_text(m.get("content")).encode("utf-8"))
    return total


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: only text parts are tokens of this kind
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def inbox_sizes(request_of: Any, agents: Sequence[int], n: int) -> Any:
    """Messages each agent reads in the previewed round (from a ``RoundPreview``'s
    ``inbox_sizes`` when it has them, else by building the agents' requests)."""
    sizes = getattr(request_of, "inbox_sizes", None)
    if sizes is not None:
        return sizes
    out = [0] * n
    for i in agents:
        out[i] = len(request_of(i).inbox)
    return out


def profile_tokens(columns: "ProfileTokens", idx: Any, inbox_sizes: Any) -> int:
    """Tokens simulated agents ``idx`` use in a round in which agent i reads
    ``inbox_sizes[i]`` messages (their profiles, as :class:`ProfileTokens` columns)."""
    idx = np.asarray(idx, dtype=np.int64)
    sizes = np.asarray(inbox_sizes, dtype=np.int64)[idx]
    used = columns.prompt[idx] + columns.per_message[idx] * sizes + columns.reply[idx]
    return int(used.sum())


class ProfileTokens:
    """The token columns of simulated agents' profiles (prompt, per message read, reply)."""

    __slots__ = ("per_message", "prompt", "reply")

    def __init__(self, agents: Sequence[Any]):
        self.prompt = np.array(column(agents, "prompt_tokens"), dtype=np.int64)
        self.per_message = np.array(column(agents, "tokens_per_message"), dtype=np.int64)
        self.reply = np.array(column(agents, "reply_tokens"), dtype=np.int64)
