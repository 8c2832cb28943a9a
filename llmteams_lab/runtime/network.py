"""The team's network: carries each round's messages along the topology's arcs.

Semantics: in round r every agent that replied broadcasts its answer along its
out-arcs; messages are delivered at the end of round r into the inboxes read in
round r + 1. So every message sent in a round is accounted for by that round's end
(delivered, or — with faults — dropped or delayed to a later round).

Two modes, the same tallies:

* explicit (``logging = "messages"``, faults, or per-agent backends): one
  ``MessageSent`` and one ``MessageDelivered`` event per message and real inboxes;
* aggregated (``logging = "rounds"`` with batch backends and no network faults): one
  counted event per round, inbox tallies computed in closed form (complete graph:
  everyone's tally minus one's own; otherwise a bincount over the arcs).

Tallies of confidence are integers (thousandths), so both modes agree exactly.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from llmteams_lab.events import MessageDelayed, MessageDelivered, MessageDropped, MessageSent
from llmteams_lab.messages import Message, Question
from llmteams_lab.runtime.log import EventLog

__all__ = ["Inbox", "Network", "Route"]

# (sender, answer index, confidence in thousandths, text, payload, sent round)
Entry = tuple[int, int, int, str, "str | None", int]
# A router decides a message's fate: a list of (delay in rounds, fault name) deliveries.
# [] drops it; [(0, None)] is a normal delivery; None means "no opinion" (normal).
Route = Callable[[int, int, int], "list[tuple[int, str | None]] | None"]

_new = tuple.__new__


class Inbox:
    """What agents read this round: tallies for batch backends, entries for the rest."""

    __slots__ = ("votes", "weight", "size", "entries")

    def __init__(self, votes: np.ndarray, weight: np.ndarray, size: np.ndarray,
                 entries: list[list[Entry]] | None):
        self.votes, self.weight, self.size, self.entries = votes, weight, size, entries

    def messages(self, i: int, ids: Sequence[str], question: Question) -> tuple[Message, ...]:
        """Agent ``i``'s inbox as :class:`Message` records (explicit mode only)."""
        if self.entries is None:
            return ()
        out = []
        for sender, answer, conf, text, payload, sent in self.entries[i]:
            value = question.options[answer] if answer >= 0 else None
            out.append(Message(sent, ids[sender], ids[i], value, conf / 1000, text, payload))
        return tuple(out)


class Network:
    """Message delivery along ``arcs`` between ``n`` agents with ``k`` answer options."""

    def __init__(self, ids: Sequence[str], arcs: Sequence[tuple[int, int]], k: int, *, explicit: bool):
        self.ids = tuple(ids)
        self.n = n = len(ids)
        self.k = k
        self.explicit = explicit
        self.out: list[list[int]] = [[] for _ in range(n)]
        for a, b in arcs:
            self.out[a].append(b)
        self.src = np.array([a for a, _ in arcs], dtype=np.int64)
        self.dst = np.array([b for _, b in arcs], dtype=np.int64)
        self.complete = len(arcs) == n * (n - 1)
        self.router: Route | None = None
        self._next: list[list[Entry]] = [[] for _ in range(n)]
        self._later: dict[int, list[tuple[int, Entry]]] = {}
        self._agg: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # --- sending ------------------------------------------------------------------
    def send(self, log: EventLog, round: int, senders: np.ndarray, answers: np.ndarray,
             confidence: np.ndarray, values: Sequence[str | None], texts: Sequence[str],
             tokens: np.ndarray, t_sent: np.ndarray, t_end: float) -> None:
        """Broadcast each sender's answer along its out-arcs (see the module docstring)."""
        if self.explicit:
            self._send_explicit(log, round, senders, answers, confidence, values, texts, tokens, t_sent, t_end)
        else:
            self._send_aggregated(log, round, senders, answers, confidence, tokens, t_end)

    def _send_explicit(self, log, round, senders, answers, confidence, values, texts, tokens, t_sent, t_end):
        rows, seq, run_id, ids, nxt, router = log.events, log.seq, log.run_id, self.ids, self._next, self.router
        for s in senders.tolist():
            sid, value, text, tok, ts = ids[s], values[s], texts[s], int(tokens[s]), float(t_sent[s])
            entry = (s, int(answers[s]), int(confidence[s]), text, None, round)
            for r in self.out[s]:
                rid = ids[r]
                rows.append(_new(MessageSent, (run_id, round, seq, "MessageSent", sid, rid, ts, ts, value,
                                               None, 0, tok, None, None, text, 1)))
                seq += 1
                fates = router(round, s, r) if router is not None else None
                if fates is None:
                    nxt[r].append(entry)
                    rows.append(_new(MessageDelivered, (run_id, round, seq, "MessageDelivered", sid, rid, ts,
                                                        t_end, value, None, 0, tok, None, None, None, 1)))
                    seq += 1
                    continue
                log.seq = seq
                self._apply_fates(log, round, s, r, entry, fates, value, tok, ts, t_end)
                seq = log.seq
        log.seq = seq

    def _apply_fates(self, log, round, s, r, entry, fates, value, tok, ts, t_end) -> None:
        sid, rid = self.ids[s], self.ids[r]
        if not fates:
            log.add(MessageDropped, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                    fault="drop")
        for delay, fault in fates:
            if delay <= 0:
                self._next[r].append(entry)
                log.add(MessageDelivered, round, sid, rid, t_start=ts, t_end=t_end, value=value,
                        tokens_out=tok, fault=fault)
            else:
                self._later.setdefault(round + delay, []).append((r, entry))
                log.add(MessageDelayed, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                        fault=fault or "delay", detail=f"deliver in round {round + delay}")

    def _send_aggregated(self, log, round, senders, answers, confidence, tokens, t_end) -> None:
        replied = np.zeros(self.n, dtype=bool)
        replied[senders] = True
        self._agg = (replied, answers.copy(), confidence.copy())
        if self.complete:
            count = int(senders.size) * (self.n - 1)
            tok = int(tokens[senders].sum()) * (self.n - 1)
        else:
            mask = replied[self.src]
            count = int(mask.sum())
            tok = int(tokens[self.src[mask]].sum())
        if count:
            log.add(MessageSent, round, tokens_out=tok, count=count, t_start=t_end, t_end=t_end)
            log.add(MessageDelivered, round, tokens_out=tok, count=count, t_start=t_end, t_end=t_end)

    # --- receiving ----------------------------------------------------------------
    def deliver_due(self, log: EventLog, round: int, t: float) -> None:
        """Move messages delayed until ``round`` into the inboxes (recording delivery)."""
        for r, entry in self._later.pop(round, []):
            self._next[r].append(entry)
            s = entry[0]
            log.add(MessageDelivered, round, self.ids[s], self.ids[r], t_start=t, t_end=t, fault="delay",
                    value=None if entry[1] < 0 else str(entry[1]))

    def take_inbox(self) -> Inbox:
        """Hand over what arrived since the last round and start a fresh inbox."""
        n, k = self.n, self.k
        if not self.explicit:
            return self._aggregated_inbox()
        entries, self._next = self._next, [[] for _ in range(n)]
        recv, ans, conf = [], [], []
        for r, box in enumerate(entries):
            if box:
                box.sort(key=lambda e: e[0])
                for e in box:
                    if e[1] >= 0:
                        recv.append(r)
                        ans.append(e[1])
                        conf.append(e[2])
        idx = np.array(recv, dtype=np.int64) * k + np.array(ans, dtype=np.int64)
        votes = np.bincount(idx, minlength=n * k).reshape(n, k).astype(np.int64)
        weight = np.bincount(idx, weights=np.array(conf, dtype=np.float64), minlength=n * k)
        size = np.array([len(b) for b in entries], dtype=np.int64)
        return Inbox(votes, weight.reshape(n, k).astype(np.int64), size, entries)

    def _aggregated_inbox(self) -> Inbox:
        n, k = self.n, self.k
        if self._agg is None:
            zero = np.zeros((n, k), dtype=np.int64)
            return Inbox(zero, zero.copy(), np.zeros(n, dtype=np.int64), None)
        replied, answers, conf = self._agg
        self._agg = None
        valid = replied & (answers >= 0)
        own_votes = np.zeros((n, k), dtype=np.int64)
        own_weight = np.zeros((n, k), dtype=np.int64)
        rows = np.flatnonzero(valid)
        own_votes[rows, answers[rows]] = 1
        own_weight[rows, answers[rows]] = conf[rows]
        if self.complete:
            votes = own_votes.sum(axis=0) - own_votes
            weight = own_weight.sum(axis=0) - own_weight
            size = np.full(n, int(replied.sum()), dtype=np.int64) - replied
            return Inbox(votes, weight, size, None)
        mask = replied[self.src]
        src, dst = self.src[mask], self.dst[mask]
        ok = answers[src] >= 0
        idx = dst[ok] * k + answers[src[ok]]
        votes = np.bincount(idx, minlength=n * k).reshape(n, k).astype(np.int64)
        weight = np.bincount(idx, weights=conf[src[ok]].astype(np.float64), minlength=n * k)
        size = np.bincount(dst, minlength=n).astype(np.int64)
        return Inbox(votes, weight.reshape(n, k).astype(np.int64), size, None)
