"""What one round exchanges between the engine and a workload (level 4).

These value types sit below both :mod:`llmteams_lab.workloads` and
:mod:`llmteams_lab.runtime`, so that a workload can read its agents' inboxes and
replies, and say what they broadcast, without importing the engine:

* :class:`Inbox`  what the network delivered for this round — tallies per (receiver,
  option) for batched backends, :class:`~llmteams_lab.messages.Message` records for the rest;
* :class:`RoundReplySlots`  the round's replies by agent index (columns), filled by the
  engine's dispatch, with every latency put on the run clock's microsecond grid;
* :class:`Outgoing`  what the round's senders broadcast along their out-arcs.

Why the round's broadcast is kept as columns (``_Said``) rather than one entry per
message: without network faults every message along an arc is delivered, so inbox
tallies have a closed form and an agent's :class:`Message` records can be built from
its in-arcs when it asks. Only routed messages (dropped, delayed, duplicated ...) are
kept as entries. Tallies of confidence are integers (thousandths), so every path agrees.

Building inbox :class:`Message` records fast: a 64-agent all-to-all round hands its
agents 4,032 messages, and ``Message`` is a frozen slotted dataclass whose ``__init__``
sets every field through ``object.__setattr__`` (~0.8 µs a message). A plain slotted
"draft" with the same slots is filled with ordinary attribute stores and then turned
into a ``Message`` by ``__class__`` assignment (CPython allows it between classes with
identical slots): ~0.16 µs, and the result is an ordinary, frozen ``Message``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from llmteams_lab.errors import BackendError
from llmteams_lab.events import TICKS_PER_SECOND, on_time_grid
from llmteams_lab.messages import AgentReply, Message

__all__ = ["Entry", "Inbox", "Outgoing", "RoundReplySlots", "from_heads", "named_recipients", "new_message", "on_grid",
           "woken_by"]

# (sender, answer index, confidence in thousandths, text, payload, sent round)
Entry = tuple[int, int, int, str, "str | None", int]


def on_grid(seconds: np.ndarray) -> np.ndarray:
    """Latencies on the run clock's grid of whole microseconds (a new float64 array).

    The one place the engine takes times from backends, so nothing a CPU-dependent
    float computation left in a latency's last bits reaches an event (see ``events``)."""
    grid = np.multiply(seconds, TICKS_PER_SECOND, dtype=np.float64)
    np.rint(grid, out=grid)
    grid /= TICKS_PER_SECOND
    return grid


class _Draft:
    """A mutable stand-in with exactly :class:`Message`'s slots (see ``_draft_class``)."""

    __slots__ = ("round", "sender", "receiver", "answer", "confidence", "text", "payload")


def _draft_class() -> type | None:
    """``_Draft`` if a filled draft can become a real :class:`Message` by ``__class__``
    assignment, else ``None``. Checked once, so if ``Message`` ever gains a field, a
    ``__post_init__`` or a different layout, the real constructor is used instead.
    """
    names = tuple(f.name for f in dataclasses.fields(Message))
    if names != _Draft.__slots__ or hasattr(Message, "__post_init__"):
        return None
    probe = _Draft()
    for name in names:
        setattr(probe, name, None)
    try:
        probe.__class__ = Message
    except TypeError:
        return None
    return _Draft


_DRAFT = _draft_class()


def new_message(round, sender, receiver, answer, confidence, text, payload) -> Message:
    """A :class:`Message` built through the draft (see ``_draft_class``), or the real
    constructor when drafts are unavailable."""
    if _DRAFT is None:
        return Message(round, sender, receiver, answer, confidence, text, payload)
    m = _DRAFT()
    m.round, m.sender, m.receiver, m.answer, m.confidence, m.text, m.payload = (
        round, sender, receiver, answer, confidence, text, payload)
    m.__class__ = Message
    return m


def from_heads(heads: list, senders: Sequence[int], receiver: str) -> tuple[Message, ...]:
    """``receiver``'s messages from ``senders`` (in order); ``heads[s]`` is what ``s`` said
    (``None``: nothing). The loop inlines ``new_message``: it runs once per delivered message."""
    if _DRAFT is None:
        return tuple([new_message(h[0], h[1], receiver, h[2], h[3], h[4], None)
                      for h in map(heads.__getitem__, senders) if h is not None])
    out: list[Message] = []
    append, draft, cls = out.append, _DRAFT, Message
    for h in map(heads.__getitem__, senders):
        if h is not None:
            m = draft()
            m.round, m.sender, m.answer, m.confidence, m.text = h
            m.receiver = receiver
            m.payload = None
            m.__class__ = cls
            append(m)
    return tuple(out)


class _Said:
    """One round's router-free broadcast, as columns indexed by agent."""

    __slots__ = ("round", "replied", "answers", "confidence", "texts")

    def __init__(self, round: int, replied: np.ndarray, answers: np.ndarray, confidence: np.ndarray,
                 texts: Sequence[str] | None):
        self.round, self.replied, self.answers, self.confidence, self.texts = (
            round, replied, answers, confidence, texts)


class Inbox:
    """What agents read this round: tallies for batch backends, messages for the rest.

    ``now`` is when the reading agents' turn starts on the run clock (the round's start
    in synchronous rounds, the activation's instant in an asynchronous run): workloads
    whose agents keep deadlines (election timeouts, commit timeouts) read the time here."""

    __slots__ = ("votes", "weight", "size", "_said", "_slow", "_inn", "_heads", "_lost", "now")

    def __init__(self, votes: np.ndarray, weight: np.ndarray, size: np.ndarray, said: _Said | None = None,
                 slow: list[list[Entry]] | None = None, inn: Sequence[Sequence[int]] = (),
                 lost: np.ndarray | None = None):
        self.votes, self.weight, self.size = votes, weight, size
        self._said, self._slow, self._inn = said, slow, inn
        self._heads: list | None = None
        self._lost = lost  # receivers the round's broadcast did not reach (they were down)
        self.now = 0.0  # the turn's start on the run clock (set by the execution model)

    @classmethod
    def empty(cls, n: int, k: int) -> "Inbox":
        """An inbox in which nobody has received anything (``n`` agents, ``k`` options)."""
        return cls(np.zeros((n, k), dtype=np.int64), np.zeros((n, k), dtype=np.int64), np.zeros(n, dtype=np.int64))

    @property
    def entries(self) -> list[list[Entry]] | None:
        """Every agent's inbox as raw entries sorted by sender (``None`` when aggregated)."""
        if self._said is None and self._slow is None:
            return None
        return [self._entries(i) for i in range(self.size.size)]

    def _entries(self, i: int) -> list[Entry]:
        said, out = self._said, []
        if said is not None and not (self._lost is not None and self._lost[i]):
            texts, r = said.texts, said.round
            out = [(s, int(said.answers[s]), int(said.confidence[s]), texts[s] if texts else "", None, r)
                   for s in self._inn[i] if said.replied[s]]
        if self._slow and self._slow[i]:
            out = sorted(out + self._slow[i], key=lambda e: e[0])  # stable: this round's first
        return out

    def messages(self, i: int, ids: Sequence[str], options: Sequence[str]) -> tuple[Message, ...]:
        """Agent ``i``'s inbox as :class:`Message` records, sorted by sender (``options``:
        the answer texts the indices stand for; empty for workloads without answers)."""
        if self._slow and self._slow[i]:
            opts, receiver = options, ids[i]
            return tuple([new_message(sent, ids[s], receiver, opts[a] if a >= 0 else None, c / 1000, text, payload)
                          for s, a, c, text, payload, sent in self._entries(i)])
        if self._said is None or (self._lost is not None and self._lost[i]):
            return ()
        heads = self._heads if self._heads is not None else self._make_heads(ids, options)
        return from_heads(heads, self._inn[i], ids[i])

    def _make_heads(self, ids: Sequence[str], options: Sequence[str]) -> list:
        """Per sender: what its message says to anyone (``None``: it sent nothing)."""
        said, opts = self._said, options
        texts = said.texts or [""] * len(ids)
        heads: list[Any] = [None] * len(ids)
        for s, (replied, a, c) in enumerate(zip(said.replied.tolist(), said.answers.tolist(),
                                                said.confidence.tolist())):
            if replied:
                heads[s] = (said.round, ids[s], opts[a] if a >= 0 else None, c / 1000, texts[s])
        self._heads = heads
        return heads


class RoundReplySlots:
    """One round's replies by agent index (columns), plus failures and raw replies."""

    def __init__(self, n: int):
        self.answer = np.empty(n, dtype=np.int64)
        self.answer.fill(-1)  # (np.full's wrapper costs more than the fill: one of these per turn)
        self.confidence = np.zeros(n, dtype=np.int64)
        self.latency = np.zeros(n, dtype=np.float64)
        self.tokens_in = np.zeros(n, dtype=np.int64)
        self.tokens_out = np.zeros(n, dtype=np.int64)
        self.replied = np.zeros(n, dtype=bool)
        self.replies: dict[int, AgentReply] = {}
        self.failures: dict[int, BaseException] = {}
        self.marks: dict[int, str] = {}  # agent index -> the fault that shaped its reply (recorded in ``fault``)
        self.cause: np.ndarray | None = None  # per agent: the seq of what woke it (asynchronous runs)

    def put_batch(self, idx: np.ndarray, out) -> None:
        if idx.size == self.answer.size:  # one batched call answered everyone: adopt its columns
            as_int = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731  (no copy when already int64)
            self.answer, self.confidence, self.tokens_in, self.tokens_out = (
                as_int(out.answer), as_int(out.confidence), as_int(out.tokens_in), as_int(out.tokens_out))
            self.latency = on_grid(out.latency_s)
            self.replied[:] = True
            return
        self.answer[idx] = out.answer
        self.confidence[idx] = out.confidence
        self.latency[idx] = on_grid(out.latency_s)
        self.tokens_in[idx] = out.tokens_in
        self.tokens_out[idx] = out.tokens_out
        self.replied[idx] = True

    def put_failure(self, i: int, err: BackendError, elapsed: float) -> None:
        """A failed call: its virtual duration if the error carries one, else ``elapsed``;
        tokens of a billed but unusable reply still count."""
        self.failures[i] = err
        virtual = getattr(err, "latency_s", None)
        self.latency[i] = on_time_grid(elapsed if virtual is None else virtual)
        self.tokens_in[i] = getattr(err, "tokens_in", 0)
        self.tokens_out[i] = getattr(err, "tokens_out", 0)

    def put_reply(self, i: int, reply: AgentReply, answer_index: int) -> None:
        self.replies[i] = reply
        self.answer[i] = answer_index
        conf = 0.5 if reply.confidence is None else min(1.0, max(0.0, float(reply.confidence)))
        self.confidence[i] = int(round(conf * 1000))
        self.latency[i] = on_time_grid(reply.latency_s)
        self.tokens_in[i] = reply.tokens_in
        self.tokens_out[i] = reply.tokens_out
        self.replied[i] = True


@dataclass(slots=True)
class Outgoing:
    """Per-agent columns of what the round's senders broadcast along their out-arcs.

    ``cause``: per agent, the ``seq`` of the reply event its message was sent in (-1:
    none), so each ``MessageSent`` names its cause; ``None`` when replies are not
    logged one by one (aggregated logging). ``named``: per sender, the recipients its
    reply named (agent indices), overriding its configured addressing."""

    senders: np.ndarray
    answers: np.ndarray
    confidence: np.ndarray
    values: list
    texts: list
    tokens: np.ndarray
    cause: np.ndarray | None = None
    named: dict[int, tuple[int, ...]] | None = None  # recipients a reply named itself (LLM ``to``)


def woken_by(slots: RoundReplySlots, i: int) -> int | None:
    """The ``seq`` of what woke agent ``i`` for this reply (asynchronous runs), else ``None``."""
    if slots.cause is None or slots.cause[i] < 0:
        return None
    return int(slots.cause[i])


def named_recipients(slots: RoundReplySlots, senders: np.ndarray,
                     index: dict[str, int]) -> dict[int, tuple[int, ...]] | None:
    """Per sender whose reply named its recipients (an LLM's ``to``), their indices
    (names outside the team are left out: nobody could receive them)."""
    if not slots.replies:  # batched backends keep no reply objects: nobody named anyone
        return None
    named = {}
    for i in senders.tolist():
        reply = slots.replies.get(i)
        if reply is not None and reply.recipients is not None:
            named[i] = tuple(index[a] for a in reply.recipients if a in index)
    return named or None
