"""Messages in flight in bulk: the fast path of an asynchronous run.

``runtime.transit`` follows every message as its own happening on the calendar, which
an asynchronous run needs when single messages are acted on: faults on messages,
retransmissions, bounded mailboxes, a failure detector listening for each one, agents
waiting for particular senders. Without any of that, a message only matters as a tally
in its receiver's next inbox — and tallies commute. So here a reply's broadcast is one
*block*: a row of arrival times (one per receiver, ``inf`` where it does not go) in a
matrix of the blocks in flight, plus the message's answer, confidence and tokens. There
is no happening per message:

* an idle agent wakes at the earliest arrival addressed to it (computed when a block is
  sent, or when the agent goes idle) — exactly when the per-message path wakes it;
* an agent acting at ``t`` reads every copy to it that arrived in ``(last read, t]``
  (arrivals at ``t`` included: arrivals come before activations at one instant), from
  the blocks in flight and from its mailbox;
* a block *lands* (one happening) at its last arrival: the copies its receivers have not
  read yet move into their mailboxes and the block's row is freed.

Logging. Per message (``logging = "messages"``), every copy's ``MessageDelivered`` is
written — in the order and with the ``seq``, round and ``cause`` the per-message path
gives it — by :meth:`BulkTransit.flush` before each happening, as one column block of
everything that arrived since. Aggregated, there is one counted ``MessageSent`` per
broadcast and one counted ``MessageDelivered`` per slice. The replies, decisions and
message totals equal the per-message path's in both cases (tested event for event).

A receiver that is down when a copy would be logged loses it (``MessageDropped`` with
its fault): with no faults in the spec this only happens after a fault injected by hand
(the lab), and then aggregated runs decide it at the block's landing, not at the copy's
own arrival (at most one link delay apart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.events import MessageDelivered, MessageDropped, MessageSent
from llmteams_lab.rounds import Inbox
from llmteams_lab.runtime.scheduler import ARRIVE, Calendar
from llmteams_lab.runtime.store import BLOCK_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.engine import Run

__all__ = ["BulkTransit", "bulk_refusal"]

_INF = np.inf
# per block (row): its message, the seq of its first MessageSent, its sender as an agent code
# (index + 1), when it left, string codes, how far it was counted (aggregated), in use
_COLUMNS = ("answer", "conf", "tokens", "seq", "sender", "sent_at", "value", "detail", "counted", "used")
# positions of the stored columns a message event fills (``EventStore.append_columns``)
_ROUND, _AGENT, _PEER, _T_START, _T_END, _VALUE, _TOKENS_OUT, _DETAIL, _CAUSE = (
    BLOCK_COLUMNS.index(name) for name in ("round", "agent", "peer", "t_start", "t_end", "value", "tokens_out",
                                           "detail", "cause"))
_NO_INTS = np.zeros(0, dtype=np.int64)
_LATEST = np.maximum.reduce  # an array's largest value, without ndarray.max's Python wrapper


def bulk_refusal(run: "Run") -> str | None:
    """Why an asynchronous run must follow each message (``None``: it can go in bulk)."""
    spec, net = run.spec, run.spec.network
    if spec.faults:
        return "the spec has faults"
    if spec.detector is not None:
        return "a failure detector listens for every message"
    if net is not None and (net.reliable or net.mailbox is not None):
        return "retransmissions or bounded mailboxes act on single messages"
    if spec.protocol.waits_for != "any" or run.kind.continuous or spec.task.work is not None:
        return "agents wait for particular senders"
    if not all(g.backend.virtual_time and g.batched for g in run.groups):
        return "agents answered one call at a time, or in real time"
    if run.links.addressed:
        return "agents address some neighbours only"
    if run.kind.name != "deliberation":  # election, commit, gossip: each message has its own recipients and text
        return "the workload addresses its messages and reads what each one says"
    n = len(spec.agents)
    if n > 64 and sum(len(o) for o in run.network.out) < n * n // 8:
        return "a sparse team (a block costs O(n) per broadcast)"
    return None


class BulkTransit:
    """The blocks in flight and the mailboxes of one asynchronous run (module docstring).
    ``k``: the workload's number of options; ``wake_cause``: the engine's record of what
    woke each agent (per message, filled in here when the waking copy is logged)."""

    def __init__(self, run: "Run", calendar: Calendar, k: int, wake_cause: np.ndarray):
        self.run, self.calendar, self.k, self.wake_cause = run, calendar, k, wake_cause
        self.per_message = run.mode.per_message
        n = self.n = len(run.spec.agents)
        self.times = np.full((0, n), _INF)  # row b: arrival time of block b at each receiver
        for name in _COLUMNS:
            setattr(self, name, np.zeros(0, dtype=bool if name == "used" else float if name in (
                "sent_at", "counted") else np.int64))
        self.free: list[int] = []
        self.read_until = np.full(n, -1.0)  # each agent has read every copy that arrived by then
        self.box_votes = np.zeros((n, k), dtype=np.int64)  # landed copies not read yet, as tallies
        self.box_weight = np.zeros((n, k), dtype=np.int64)
        self.box_size = np.zeros(n, dtype=np.int64)
        self.sending = True  # new broadcasts go in bulk (see ``Happenings.inject``)
        self.last_delivery = np.full(n, -1, dtype=np.int64)  # per message: seq of each agent's latest copy
        self.delivered = [0, 0]  # aggregated: this slice's deliveries (count, tokens)
        self.dropped: dict[str, list[int]] = {}
        self.wake_block = np.full(n, -1, dtype=np.int64)  # per message: the block whose copy wakes the agent
        self.waking = 0  # how many agents wait for their waking copy to be logged (``wake_block`` set)
        self.last_sent: list[int] = []  # rows sent by the latest reply batch
        # per message: the copies not logged yet, sorted by (arrival, seq of their send) —
        # their arrival, their MessageSent's seq, and ``row · n + receiver``
        self.when, self.cause, self.copy = np.zeros(0), _NO_INTS, _NO_INTS
        self.out_lists = run.network.out
        self.out = [np.asarray(o, dtype=np.int64) for o in self.out_lists]
        self.peers = [(o + 1).astype(np.int32) for o in self.out]  # their agent codes in events
        self.store = store = run.log.store
        self.kinds = (store.kind_code("MessageSent"), store.kind_code("MessageDelivered"),
                      store.kind_code("MessageDropped"))

    # --- sending ------------------------------------------------------------------------
    def send(self, s: int, out: Any, t: float, cause: int) -> tuple[int, np.ndarray] | None:
        """Sender ``s``'s broadcast of ``out`` leaves at ``t``: one block; returns its row
        and the arrival time at each receiver (``inf``: not one)."""
        run = self.run
        reach = self.out[s]  # not addressed: every out-neighbour (``bulk_refusal``)
        if not reach.size:
            return None
        arrivals = t + run.links.broadcast_delays(s, self.out_lists[s], t)
        b = self._row()
        row = self.times[b]
        row[reach] = arrivals
        value = run.log.code(out.values[s] if out.values else None)
        detail = run.log.code((out.texts[s] if out.texts else "") or None)
        tok = int(out.tokens[s])
        self.answer[b], self.conf[b], self.tokens[b] = int(out.answers[s]), int(out.confidence[s]), tok
        self.sender[b], self.sent_at[b], self.value[b], self.detail[b] = s + 1, t, value, detail
        self.counted[b] = -1.0  # nothing logged yet (a copy may arrive at t)
        m = reach.size
        if self.per_message:
            first = self.store.append_columns(self.kinds[0], m, (
                (_ROUND, run.round), (_AGENT, s + 1), (_PEER, self.peers[s]), (_T_START, t), (_T_END, t),
                (_VALUE, value), (_TOKENS_OUT, tok), (_DETAIL, detail), (_CAUSE, cause)))
            self.seq[b] = first
            self._enqueue(arrivals, first, b, reach)
        else:
            self.seq[b] = run.log.add(MessageSent, run.round, run.network.ids[s], count=m, tokens_out=tok * m,
                                      t_start=t, t_end=t, value=out.values[s] if out.values else None).seq
        self.last_sent.append(b)
        self.calendar.schedule(float(_LATEST(arrivals)), ARRIVE, "land", b)
        return b, row

    def _row(self) -> int:
        if not self.free:
            old = self.times.shape[0]
            grow = max(old, 8)
            self.times = np.vstack([self.times, np.full((grow, self.n), _INF)])
            for name in _COLUMNS:
                column = getattr(self, name)
                setattr(self, name, np.concatenate([column, np.zeros(grow, dtype=column.dtype)]))
            self.free = list(range(old + grow - 1, old - 1, -1))
        b = self.free.pop()
        self.used[b] = True
        return b

    # --- the record ----------------------------------------------------------------------
    def _enqueue(self, arrivals: np.ndarray, first: int, b: int, receivers: np.ndarray) -> None:
        """Add a broadcast's copies (their MessageSent are ``first``, ``first + 1`` ...) to
        the queue of copies to log. Every copy queued earlier was sent earlier (a smaller
        seq), so a stable sort on arrival keeps the queue in (arrival, seq) order."""
        m = arrivals.size
        when = np.concatenate((self.when, arrivals))
        order = np.argsort(when, kind="stable")
        self.when = when[order]
        self.cause = np.concatenate((self.cause, np.arange(first, first + m))).take(order)
        self.copy = np.concatenate((self.copy, receivers + b * self.n)).take(order)

    def flush(self, t: float, skip: list[int] | None = None) -> None:
        """Per message: log every queued copy that arrived by ``t``, in the per-message
        path's order (time, then send order); copies to a receiver that is down are
        dropped. ``skip``: rows whose copies arriving exactly at ``t`` are not delivered
        (the run decided before they were)."""
        when = self.when
        if not when.size or when[0] > t:
            return
        k = int(when.searchsorted(t, side="right"))
        cause, copy = self.cause, self.copy
        if k == when.size:
            self.when, self.cause, self.copy = np.zeros(0), _NO_INTS, _NO_INTS
        else:
            self.when, self.cause, self.copy = when[k:], cause[k:], copy[k:]
            when, cause, copy = when[:k], cause[:k], copy[:k]
        blocks, ri = np.divmod(copy, self.n)
        if skip:
            keep = ~(np.isin(blocks, skip) & (when == t))
            when, cause, blocks, ri = when[keep], cause[keep], blocks[keep], ri[keep]
        if when.size:
            self._log_copies(blocks, ri, when, cause)

    def _log_copies(self, blocks: np.ndarray, ri: np.ndarray, when: np.ndarray, cause: np.ndarray) -> None:
        run = self.run
        if run.network.down:
            self._log_copies_to_down(blocks, ri, when, cause)
            return
        m = blocks.size
        first = self.store.append_columns(self.kinds[1], m, (
            (_ROUND, run.round), (_AGENT, self.sender[blocks]), (_PEER, ri + 1),
            (_T_START, self.sent_at[blocks]), (_T_END, when), (_VALUE, self.value[blocks]),
            (_TOKENS_OUT, self.tokens[blocks]), (_CAUSE, cause)))
        self._delivered(blocks, ri, np.arange(first, first + m))

    def _log_copies_to_down(self, blocks: np.ndarray, ri: np.ndarray, when: np.ndarray, cause: np.ndarray) -> None:
        """:meth:`_log_copies` when some receivers are down: their copies are dropped."""
        run = self.run
        kind = np.full(blocks.size, self.kinds[1], dtype=np.int16)
        fault = np.zeros(blocks.size, dtype=np.int32)
        for r, why in run.network.down.items():
            lost = ri == r
            kind[lost], fault[lost] = self.kinds[2], run.log.code(why)
            self.times[blocks[lost], r] = _INF  # never read
        first = len(run.log.store)
        run.log.block("MessageDelivered", blocks.size, kind=kind, round=run.round, agent=self.sender[blocks],
                      peer=ri + 1, t_start=self.sent_at[blocks], t_end=when, value=self.value[blocks],
                      tokens_out=self.tokens[blocks], fault=fault, cause=cause)
        got = kind == self.kinds[1]
        self._delivered(blocks[got], ri[got], np.arange(first, first + blocks.size)[got])

    def _delivered(self, blocks: np.ndarray, ri: np.ndarray, seqs: np.ndarray) -> None:
        """Copies were delivered as events ``seqs`` (ascending): each receiver's latest,
        and the seq of the copy an agent was woken by."""
        np.maximum.at(self.last_delivery, ri, seqs)  # seqs ascend: a receiver's latest is its largest
        if not self.waking:
            return
        woken = self.wake_block[ri] == blocks
        if woken.any():
            self.wake_cause[ri[woken]] = seqs[woken]
            self.wake_block[ri[woken]] = -1
            self.waking = int(np.count_nonzero(self.wake_block >= 0))

    def close_slice(self, t0: float, t_end: float, skip: list[int] | None = None) -> None:
        """The slice ends at ``t_end``: log what arrived by then (aggregated: one counted
        ``MessageDelivered``, and a ``MessageDropped`` per fault)."""
        if self.per_message:
            self.flush(t_end, skip)
            return
        for b in np.flatnonzero(self.used).tolist():
            self._count(b, t_end, skip is not None and b in skip)
        run = self.run
        count, tokens = self.delivered
        if count:
            run.log.add(MessageDelivered, run.round, count=count, tokens_out=tokens, t_start=t0, t_end=t_end)
        for fault, (lost, tok) in sorted(self.dropped.items()):
            run.log.add(MessageDropped, run.round, count=lost, tokens_out=tok, t_start=t0, t_end=t_end, fault=fault)
        self.delivered = [0, 0]
        self.dropped = {}

    def _count(self, b: int, until: float, skip_last: bool = False) -> None:
        row = self.times[b]
        hit = (row > self.counted[b]) & (row <= until) & (row < _INF)
        if skip_last:
            hit &= row != until
        got = int(np.count_nonzero(hit))
        self.counted[b] = until
        self.delivered[0] += got
        self.delivered[1] += got * int(self.tokens[b])

    # --- landing -------------------------------------------------------------------------
    def land(self, b: int, t: float) -> None:
        """Block ``b``'s last copy arrived at ``t``: the copies not read yet join their
        receivers' mailboxes (as tallies), and the row is freed. Per message, the copies
        that arrived by ``t`` may not be logged yet (see :meth:`logs_before`): the row
        stays in the queue's hands until they are, as nothing reuses it before."""
        row = self.times[b]
        if not self.per_message:
            self._drop_to_down(b, row)
            self._count(b, _INF)
        pending = ((row > self.read_until) & (row < _INF)).nonzero()[0]  # indices: three scatters reuse them
        a = int(self.answer[b])
        self.box_size[pending] += 1
        if a >= 0:
            self.box_votes[pending, a] += 1
            self.box_weight[pending, a] += self.conf[b]
        row.fill(_INF)
        self.used[b] = False
        self.free.append(b)

    def logs_before(self, kind: str) -> bool:
        """Whether the copies that arrived by a happening of ``kind`` must be logged
        before it is handled. A landing writes no event and frees its row only for a
        later send, which comes after the next flush (every happening that may send or
        write flushes first) — so its copies are logged with the next happening's,
        in one block. With a receiver down, flushing decides which copies are lost
        before the landing would count them as read: then it flushes too."""
        return kind != "land" or bool(self.run.network.down)

    def _drop_to_down(self, b: int, row: np.ndarray) -> None:
        for r, fault in sorted(self.run.network.down.items()):  # aggregated: copies not yet counted are lost
            if self.counted[b] < row[r] < _INF and row[r] > self.read_until[r]:
                lost = self.dropped.setdefault(fault, [0, 0])
                lost[0] += 1
                lost[1] += int(self.tokens[b])
                row[r] = _INF

    # --- reading -------------------------------------------------------------------------
    def earliest(self, i: int, t: float) -> tuple[float, int] | None:
        """When idle agent ``i`` (idle since ``t``) wakes for the copies it has not read,
        and the ``seq`` that wakes it — or ``None``. Copies arrived by ``t`` wake it at ``t``."""
        if self.box_size[i]:  # something is waiting: woken now by the latest copy
            return t, int(self.last_delivery[i])
        column = self.times[:, i]
        later = np.where(column > self.read_until[i], column, _INF)
        soonest = float(later.min()) if later.size else _INF
        if soonest <= t:
            return t, int(self.last_delivery[i])
        if soonest == _INF:
            return None
        ties = np.flatnonzero(later == soonest)
        b = int(ties[np.argmin(self.seq[ties])])  # the first sent of those arriving together
        return soonest, self.wake_ref(i, b)

    def wake_ref(self, i: int, b: int) -> int:
        """The cause to record for ``i`` woken by block ``b``'s copy: aggregated, the
        block's send; per message, filled in when the copy's delivery is logged."""
        if not self.per_message:
            return int(self.seq[b])
        if self.wake_block[i] < 0:
            self.waking += 1
        self.wake_block[i] = b
        return -1

    def waiting(self, i: int, t: float) -> int:
        """How many copies agent ``i`` would read at ``t``."""
        column = self.times[:, i]
        return int(self.box_size[i]) + int(np.count_nonzero((column > self.read_until[i]) & (column <= t)))

    def take(self, idx: np.ndarray, t: float) -> Inbox:
        """The inbox of the agents ``idx`` acting at ``t``: every copy to them that
        arrived in (what they last read, ``t``] — in flight or in their mailbox —, now read.
        Tallies only: the bulk path serves batched backends, which read nothing else.
        (Free rows hold no arrivals, so every row of the matrix can be read.)"""
        inbox = Inbox.empty(self.n, self.k)
        if idx.size == 1:  # one agent acts (most asynchronous turns): no 2-D gathers
            i = int(idx[0])
            column = self.times[:, i]
            self._tally(inbox, i, (column > self.read_until[i]) & (column <= t))
            self.box_votes[i] = 0
            self.box_weight[i] = 0
        else:
            sub = self.times[:, idx]
            fresh = (sub > self.read_until[idx]) & (sub <= t)
            for j, i in enumerate(idx.tolist()):
                self._tally(inbox, i, fresh[:, j])
            self.box_votes[idx] = 0
            self.box_weight[idx] = 0
        self.box_size[idx] = 0
        self.read_until[idx] = t
        return inbox

    def _tally(self, inbox: Inbox, i: int, rows: np.ndarray) -> None:
        """Agent ``i``'s inbox: its mailbox's tallies plus the copies of blocks ``rows``."""
        got = self.answer[rows]
        inbox.size[i] = int(self.box_size[i]) + got.size
        ok = got >= 0
        got = got[ok]
        inbox.votes[i] = self.box_votes[i] + np.bincount(got, minlength=self.k)
        inbox.weight[i] = self.box_weight[i] + np.bincount(got, weights=self.conf[rows][ok],
                                                           minlength=self.k).astype(np.int64)

    def lengths(self, t: float) -> list[int]:
        """Each agent's mailbox length at ``t`` (for UIs)."""
        return [self.waiting(i, t) for i in range(self.n)]
