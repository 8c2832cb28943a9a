"""The team's network: carries each round's messages along the topology's arcs.

Semantics: in round r every agent that replied broadcasts its answer along its
out-arcs; messages are delivered at the end of round r into the inboxes read in
round r + 1. So every message sent in a round is accounted for by that round's end
(delivered, or — with faults — dropped or delayed to a later round).

In the run's :class:`~llmteams_lab.runtime.log.LogMode`, the same tallies either way:
per message (one ``MessageSent`` and one ``MessageDelivered`` event per message, real
inboxes) or aggregated (one counted event per round). Inboxes are built as
:class:`~llmteams_lab.rounds.Inbox` (closed-form tallies of the round's broadcast;
only routed messages — dropped, delayed, duplicated ... — are kept as entries).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from llmteams_lab.events import (
    MessageDelayed,
    MessageDelivered,
    MessageDropped,
    MessageSent,
)
from llmteams_lab.rounds import Entry, Inbox, _Said
from llmteams_lab.runtime.log import EventLog, LogMode

__all__ = ["Network", "Route"]

# A router decides a message's fate: a list of (delay in rounds, fault name[, change])
# deliveries (see Network._apply_fates). [] drops it; [(-1, "partition")] drops it for a
# named reason; [(0, None)] is a normal delivery; None means "no opinion" (normal).
Route = Callable[[int, int, int], "list[tuple] | None"]

_new = tuple.__new__


class Network:
    """Message delivery along ``arcs`` between ``n`` agents with ``k`` answer options."""

    def __init__(self, ids: Sequence[str], arcs: Sequence[tuple[int, int]], k: int, mode: LogMode):
        self.ids = tuple(ids)
        self.n = n = len(ids)
        self.k = k
        self.mode = mode
        self.out: list[list[int]] = [[] for _ in range(n)]
        self.inn: list[list[int]] = [[] for _ in range(n)]
        for a, b in arcs:
            self.out[a].append(b)
            self.inn[b].append(a)
        for senders in self.inn:
            senders.sort()
        self._out_ids = [[self.ids[b] for b in outs] for outs in self.out]
        self.src = np.array([a for a, _ in arcs], dtype=np.int64)
        self.dst = np.array([b for _, b in arcs], dtype=np.int64)
        self.complete = len(arcs) == n * (n - 1)
        self._row_base = np.arange(n, dtype=np.int64) * k  # flat index of each agent's row in (n, k)
        self.router: Route | None = None
        self._next: list[list[Entry]] = [[] for _ in range(n)]
        self._slow = False  # whether any entry waits in ``_next``
        self._later: dict[int, list[tuple[int, Entry, str | None, int, str]]] = {}
        self._said: _Said | None = None

    # --- sending ------------------------------------------------------------------
    def send(self, log: EventLog, round: int, senders: np.ndarray, answers: np.ndarray,
             confidence: np.ndarray, values: Sequence[str | None], texts: Sequence[str],
             tokens: np.ndarray, t_sent: np.ndarray, t_end: float) -> None:
        """Broadcast each sender's answer along its out-arcs (see the module docstring)."""
        if not self.mode.per_message:
            self._send_aggregated(log, round, senders, answers, confidence, tokens, t_end)
        elif self.router is None:
            self._send_direct(log, round, senders, answers, confidence, values, texts, tokens, t_sent, t_end)
        else:
            self._send_routed(log, round, senders, answers, confidence, values, texts, tokens, t_sent, t_end)

    def _remember(self, round, senders, answers, confidence, texts) -> None:
        if senders.size == self.n:  # senders are distinct agent indices: everyone replied
            replied = np.ones(self.n, dtype=bool)
        else:
            replied = np.zeros(self.n, dtype=bool)
            replied[senders] = True
        self._said = _Said(round, replied, answers.copy(), confidence.copy(), texts)

    def _send_direct(self, log, round, senders, answers, confidence, values, texts, tokens, t_sent, t_end):
        """No router: every message is delivered; two events each, the broadcast kept as columns.

        (Building the events column-wise — ``zip`` of per-arc columns, ``map`` of
        ``tuple.__new__`` — was measured: no faster once the events are kept, as they are.)
        """
        rows, seq, run_id, ids, out_ids = log.events, log.seq, log.run_id, self.ids, self._out_ids
        append, sent_cls, delivered_cls = rows.append, MessageSent, MessageDelivered
        tokens_l, t_sent_l = tokens.tolist(), t_sent.tolist()
        for s in senders.tolist():
            sid, value, text, tok, ts = ids[s], values[s], texts[s], tokens_l[s], t_sent_l[s]
            for rid in out_ids[s]:
                append(_new(sent_cls, (run_id, round, seq, "MessageSent", sid, rid, ts, ts, value, None, 0, tok,
                                       None, None, text, 1)))
                append(_new(delivered_cls, (run_id, round, seq + 1, "MessageDelivered", sid, rid, ts, t_end, value,
                                            None, 0, tok, None, None, None, 1)))
                seq += 2
        log.seq = seq
        self._remember(round, senders, answers, confidence, texts)

    def _send_routed(self, log, round, senders, answers, confidence, values, texts, tokens, t_sent, t_end):
        """A router decides each message's fate (network faults); every entry is kept."""
        rows, run_id, ids, router = log.events, log.run_id, self.ids, self.router
        for s in senders.tolist():
            sid, value, text, tok, ts = ids[s], values[s], texts[s], int(tokens[s]), float(t_sent[s])
            entry = (s, int(answers[s]), int(confidence[s]), text, None, round)
            for r in self.out[s]:
                rid = ids[r]
                rows.append(_new(MessageSent, (run_id, round, log.seq, "MessageSent", sid, rid, ts, ts, value,
                                               None, 0, tok, None, None, text, 1)))
                log.seq += 1
                fates = router(round, s, r)
                if fates is None:  # untouched by any fault (most messages): delivered now, inlined
                    self._next[r].append(entry)
                    rows.append(_new(MessageDelivered, (run_id, round, log.seq, "MessageDelivered", sid, rid, ts,
                                                        t_end, value, None, 0, tok, None, None, None, 1)))
                    log.seq += 1
                    continue
                self._apply_fates(log, round, s, r, entry, fates, value, tok, ts, t_end)
        self._slow = True

    def _apply_fates(self, log, round, s, r, entry, fates, value, tok, ts, t_end) -> None:
        """A fate is ``(delay, fault[, change])``: delay < 0 drops the message (``fault``
        says why), 0 delivers it now, d > 0 makes it d rounds late (read in round
        ``round + d + 1``); ``change(entry, value) -> (entry, value)`` alters its content
        on the way (corrupt, equivocate, carry a payload)."""
        sid, rid = self.ids[s], self.ids[r]
        if not fates:
            log.add(MessageDropped, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                    fault="drop")
        for delay, fault, *change in fates:
            got, got_value = change[0](entry, value) if change and change[0] is not None else (entry, value)
            if delay < 0:
                log.add(MessageDropped, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                        fault=fault or "drop")
            elif delay == 0:
                self._next[r].append(got)
                self._slow = True
                log.add(MessageDelivered, round, sid, rid, t_start=ts, t_end=t_end, value=got_value,
                        tokens_out=tok, fault=fault)
            else:
                due = round + delay + 1
                self._later.setdefault(due, []).append((r, got, got_value, tok, fault or "delay"))
                log.add(MessageDelayed, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                        fault=fault or "delay", detail=f"deliver in round {due}")

    def _send_aggregated(self, log, round, senders, answers, confidence, tokens, t_end) -> None:
        self._remember(round, senders, answers, confidence, None)
        if self.complete:
            count = int(senders.size) * (self.n - 1)
            tok = int((tokens if senders.size == self.n else tokens[senders]).sum()) * (self.n - 1)
        else:
            mask = self._said.replied[self.src]
            count = int(mask.sum())
            tok = int(tokens[self.src[mask]].sum())
        if count:
            log.add(MessageSent, round, tokens_out=tok, count=count, t_start=t_end, t_end=t_end)
            log.add(MessageDelivered, round, tokens_out=tok, count=count, t_start=t_end, t_end=t_end)

    # --- receiving ----------------------------------------------------------------
    def deliver_due(self, log: EventLog, round: int, t: float) -> None:
        """Move messages delayed until ``round`` into the inboxes (recording delivery)."""
        for r, entry, value, tok, fault in self._later.pop(round, []):
            self._next[r].append(entry)
            self._slow = True
            log.add(MessageDelivered, round, self.ids[entry[0]], self.ids[r], t_start=t, t_end=t, fault=fault,
                    value=value, tokens_out=tok)

    def pending_sizes(self, round: int) -> np.ndarray:
        """How many messages each agent will read in ``round`` (cheaper than
        :meth:`peek_inbox`: no tallies, no records)."""
        said = self._said
        if said is None:
            size = np.zeros(self.n, dtype=np.int64)
        elif self.complete:
            size = int(said.replied.sum()) - said.replied.astype(np.int64)
        else:
            size = np.bincount(self.dst[said.replied[self.src]], minlength=self.n).astype(np.int64)
        if self._slow:
            size += np.array([len(box) for box in self._next], dtype=np.int64)
        for r, *_ in self._later.get(round, ()):
            size[r] += 1
        return size

    def peek_inbox(self, round: int) -> Inbox:
        """The inbox agents will read in ``round`` — this round's messages and those
        delayed until then — without delivering it (for the budget check before the
        round starts: what an agent reads is what its prompt costs)."""
        votes, weight, size = self._tallies(self._said)
        slow = [list(box) for box in self._next] if self._slow else None
        due = self._later.get(round, ())
        if due:
            slow = slow if slow is not None else [[] for _ in range(self.n)]
            for r, entry, *_ in due:
                slow[r].append(entry)
        if slow is not None:
            self._add_entries(votes, weight, size, slow)
        if not self.mode.per_message:
            return Inbox(votes, weight, size)
        return Inbox(votes, weight, size, self._said, slow, self.inn)

    def take_inbox(self) -> Inbox:
        """Hand over what arrived since the last round and start a fresh inbox."""
        said, self._said = self._said, None
        votes, weight, size = self._tallies(said)
        slow = None
        if self._slow:
            slow, self._next, self._slow = self._next, [[] for _ in range(self.n)], False
            self._add_entries(votes, weight, size, slow)
        if not self.mode.per_message:
            return Inbox(votes, weight, size)
        return Inbox(votes, weight, size, said, slow, self.inn)

    def _tallies(self, said: _Said | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Votes, confidence weight (thousandths) per (receiver, option) and inbox sizes."""
        n, k = self.n, self.k
        if said is None:
            return np.zeros((n, k), dtype=np.int64), np.zeros((n, k), dtype=np.int64), np.zeros(n, dtype=np.int64)
        replied, answers, conf = said.replied, said.answers, said.confidence
        if self.complete:
            return self._complete_tallies(replied, answers, conf)
        mask = replied[self.src]
        src, dst = self.src[mask], self.dst[mask]
        ok = answers[src] >= 0
        idx = dst[ok] * k + answers[src[ok]]
        votes = np.bincount(idx, minlength=n * k).reshape(n, k).astype(np.int64)
        weight = np.bincount(idx, weights=conf[src[ok]].astype(np.float64), minlength=n * k)
        size = np.bincount(dst, minlength=n).astype(np.int64)
        return votes, weight.reshape(n, k).astype(np.int64), size

    def _complete_tallies(self, replied: np.ndarray, answers: np.ndarray, conf: np.ndarray):
        """Complete graph: everyone hears everyone else, so an inbox is the team's tally
        minus one's own message (row copies of the tally, then one scatter each)."""
        n, k = self.n, self.k
        valid = replied & (answers >= 0)
        everyone = np.count_nonzero(valid) == n
        if everyone:  # the usual round: no gathers
            said_answer, said_conf, base = answers, conf, self._row_base
        else:
            rows = np.flatnonzero(valid)
            said_answer, said_conf, base = answers[rows], conf[rows], rows * k
        votes = np.bincount(said_answer, minlength=k)[None, :].repeat(n, 0)
        weight = np.bincount(said_answer, weights=said_conf, minlength=k).astype(np.int64)[None, :].repeat(n, 0)
        own = base + said_answer  # flat index of (sender, its answer)
        votes.ravel()[own] -= 1
        weight.ravel()[own] -= said_conf
        size = np.full(n, n - 1, dtype=np.int64) if everyone else int(replied.sum()) - replied.astype(np.int64)
        return votes, weight, size

    @staticmethod
    def _add_entries(votes: np.ndarray, weight: np.ndarray, size: np.ndarray, slow: list[list[Entry]]) -> None:
        for r, box in enumerate(slow):
            size[r] += len(box)
            for _, answer, conf, *_ in box:
                if answer >= 0:
                    votes[r, answer] += 1
                    weight[r, answer] += conf
