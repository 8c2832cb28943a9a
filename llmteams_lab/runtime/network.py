"""The team's network: carries each round's messages along the topology's arcs.

Semantics: in round r every agent that replied broadcasts its answer along its
out-arcs; messages are delivered at the end of round r into the inboxes read in
round r + 1. So every message sent in a round is accounted for by that round's end
(delivered, or — with faults — dropped or delayed to a later round).

A message whose receiver is down when it arrives (crashed, or inside a crash-recover
window: ``down``, set by the fault injector each round) is not delivered: it is recorded
as ``MessageDropped`` with the receiver's fault (``crash`` / ``crash_recover``) and never
reaches an inbox — a down agent's mailbox takes nothing, so an agent that recovers
does not read what was sent while it was down.

In the run's :class:`~llmteams_lab.runtime.log.LogMode`, the same tallies either way:
per message (one ``MessageSent`` and one ``MessageDelivered`` event per message, real
inboxes) or aggregated (one counted event per round). Inboxes are built as
:class:`~llmteams_lab.rounds.Inbox` (closed-form tallies of the round's broadcast;
only routed messages — dropped, delayed, duplicated ... — are kept as entries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from llmteams_lab.events import (
    MessageDelayed,
    MessageDelivered,
    MessageDropped,
    MessageSent,
    on_time_grid,
)
from llmteams_lab.rounds import Entry, Inbox, _Said
from llmteams_lab.runtime.graph import team_arcs
from llmteams_lab.runtime.log import EventLog, LogMode

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.rounds import Outgoing
    from llmteams_lab.runtime.links import Links

__all__ = ["Network", "Route", "team_arcs"]

# A router decides a message's fate: a list of (delay in rounds, fault name[, change])
# deliveries (see Network._apply_fates). [] drops it; [(-1, "partition")] drops it for a
# named reason; [(0, None)] is a normal delivery; None means "no opinion" (normal).
Route = Callable[[int, int, int], "list[tuple] | None"]

class Network:
    """Message delivery along ``arcs`` between ``n`` agents with ``k`` answer options."""

    def __init__(self, ids: Sequence[str], arcs: Sequence[tuple[int, int]] | tuple[np.ndarray, np.ndarray], k: int,
                 mode: LogMode):
        """``arcs``: (sender, receiver) pairs, or two arrays of senders and receivers sorted
        by sender, then receiver (:func:`team_arcs`)."""
        self.ids = tuple(ids)
        self.n = n = len(ids)
        self.k = k
        self.mode = mode
        if isinstance(arcs, tuple) and len(arcs) == 2 and isinstance(arcs[0], np.ndarray):
            self.src, self.dst = (np.asarray(a, dtype=np.int64) for a in arcs)
            self._by_src, self._by_src_dst = self.src, self.dst
        else:
            self.src = np.array([a for a, _ in arcs], dtype=np.int64)
            self.dst = np.array([b for _, b in arcs], dtype=np.int64)
            order = np.argsort(self.src, kind="stable")  # arcs grouped by sender, each out-list in order
            self._by_src, self._by_src_dst = self.src[order], self.dst[order]
        self.complete = int(self.src.size) == n * (n - 1)
        self._out: list[list[int]] | None = None
        self._inn: list[list[int]] | None = None
        self._degree: np.ndarray | None = None  # each agent's out-degree, counted on first use
        self._row_base = np.arange(n, dtype=np.int64) * k  # flat index of each agent's row in (n, k)
        self.router: Route | None = None
        self._boxes: list[list[Entry]] | None = None  # ``_next``, made when a first entry is routed
        self._slow = False  # whether any entry waits in ``_next``
        self._later: dict[int, list[tuple[int, Entry, str | None, int, str]]] = {}
        self._said: _Said | None = None
        # receiver index -> the fault keeping it down this round (set by the fault injector)
        self.down: dict[int, str] = {}
        self.links: "Links | None" = None  # addressing and link delays (set by the engine)
        self._lost: np.ndarray | None = None  # receivers whose aggregated inbox rows were dropped

    @property
    def out(self) -> list[list[int]]:
        """Each agent's out-neighbours (receivers), built on first use."""
        if self._out is None:
            cuts = np.cumsum(np.bincount(self._by_src, minlength=self.n))[:-1]
            self._out = [part.tolist() for part in np.split(self._by_src_dst, cuts)]
        return self._out

    @property
    def _next(self) -> list[list[Entry]]:
        """Each receiver's routed entries for the next round (a million empty lists cost
        a second and 60 MB: made only once a message is routed)."""
        if self._boxes is None:
            self._boxes = [[] for _ in range(self.n)]
        return self._boxes

    def _out_degree(self) -> np.ndarray:
        if self._degree is None:
            self._degree = np.bincount(self.src, minlength=self.n).astype(np.int64)
        return self._degree

    @property
    def inn(self) -> list[list[int]]:
        """Each agent's in-neighbours (senders), sorted, built on first use."""
        if self._inn is None:
            order = np.lexsort((self.src, self.dst))
            cuts = np.cumsum(np.bincount(self.dst, minlength=self.n))[:-1]
            self._inn = [part.tolist() for part in np.split(self.src[order], cuts)]
        return self._inn

    # --- sending ------------------------------------------------------------------
    def send(self, log: EventLog, round: int, out: "Outgoing", t_sent: np.ndarray, t_end: float) -> float:
        """Send each sender's message along its out-arcs, or to its recipients (see the
        module docstring); the round's end once its slowest message has arrived."""
        t_end = self._in_flight(out, t_sent, t_end)
        addressed = out.named or (self.links is not None and self.links.addressed)
        if not self.mode.per_message:
            self._send_aggregated(log, round, out.senders, out.answers, out.confidence, out.tokens, t_end)
        elif self.router is None and not addressed:
            self._send_direct(log, round, out, t_sent, t_end)
        else:
            self._send_routed(log, round, out, t_sent, t_end)
        return t_end

    def _in_flight(self, out: "Outgoing", t_sent: np.ndarray, t_end: float) -> float:
        """A synchronous round lasts until its slowest message has arrived: with link
        delays (``network.delay_s``, ``network.links``) that can be after its slowest reply."""
        links = self.links
        if links is None or (links.delay == 0.0 and not links.per_link) or not out.senders.size:
            return t_end
        latest = t_end
        for s in out.senders.tolist():
            if self.out[s]:
                delays = links.delays(s, self.out[s], float(t_sent[s]), links.generator(s))
                latest = max(latest, float(t_sent[s]) + float(delays.max()))
        return on_time_grid(latest)

    def _remember(self, round, senders, answers, confidence, texts) -> None:
        if senders.size == self.n:  # senders are distinct agent indices: everyone replied
            replied = np.ones(self.n, dtype=bool)
        else:
            replied = np.zeros(self.n, dtype=bool)
            replied[senders] = True
        self._said = _Said(round, replied, answers.copy(), confidence.copy(), texts)

    def _arcs_of(self, senders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(source, destination) of every arc out of ``senders``, in sender order and, per
        sender, in its out-list's order (the order messages are logged in)."""
        if senders.size == self.n:
            return self._by_src, self._by_src_dst
        speaking = np.zeros(self.n, dtype=bool)
        speaking[senders] = True
        keep = speaking[self._by_src]
        return self._by_src[keep], self._by_src_dst[keep]

    def _send_direct(self, log: EventLog, round: int, out: "Outgoing", t_sent: np.ndarray, t_end: float) -> None:
        """No router: every message is delivered, unless its receiver is down. One block
        of events, Sent and its fate (Delivered, or Dropped with the receiver's fault)
        interleaved per message (in sender order), the broadcast kept as columns."""
        src, dst = self._arcs_of(out.senders)
        m = src.size
        if m:
            sent_code, delivered_code = log.store.kind_code("MessageSent"), log.store.kind_code("MessageDelivered")
            first = log.seq
            kinds = np.empty(2 * m, dtype=np.uint8)
            kinds[0::2], kinds[1::2] = sent_code, delivered_code
            t_start = np.repeat(t_sent[src], 2)
            t_stop = t_start.copy()
            t_stop[1::2] = t_end
            detail = np.zeros(2 * m, dtype=np.int32)
            detail[0::2] = _codes(log, out.texts, self.n)[src] if out.texts else 0
            cause = np.repeat(out.cause[src], 2) if out.cause is not None else np.full(2 * m, -1, np.int64)
            cause[1::2] = np.arange(first, first + 2 * m, 2, dtype=np.int64)
            fault = self._drop_to_down(log, dst, kinds, t_start, t_stop) if self.down else 0
            log.block("MessageSent", 2 * m, round=round, kind=kinds, agent=np.repeat(src + 1, 2),
                      peer=np.repeat(dst + 1, 2), t_start=t_start, t_end=t_stop,
                      value=np.repeat(_codes(log, out.values, self.n)[src], 2),
                      tokens_out=np.repeat(out.tokens[src], 2),
                      detail=detail, fault=fault, cause=cause)
        self._remember(round, out.senders, out.answers, out.confidence, out.texts)

    def _drop_to_down(self, log: EventLog, dst: np.ndarray, kinds: np.ndarray, t_start: np.ndarray,
                      t_stop: np.ndarray) -> np.ndarray:
        """Turn the deliveries to down receivers into drops (in place) and empty those
        receivers' inboxes; the ``fault`` column of the block."""
        fault_code = np.zeros(self.n, dtype=np.int32)
        for r, why in self.down.items():
            fault_code[r] = log.code(why)
        self._lost = fault_code > 0
        dropped = np.flatnonzero(self._lost[dst]) * 2 + 1
        kinds[dropped] = log.store.kind_code("MessageDropped")
        t_stop[dropped] = t_start[dropped]  # lost at the moment it was sent, as a routed drop is
        fault = np.zeros(kinds.size, dtype=np.int32)
        fault[dropped] = fault_code[dst[(dropped - 1) // 2]]
        return fault

    def _send_routed(self, log: EventLog, round: int, out: "Outgoing", t_sent: np.ndarray, t_end: float) -> None:
        """A router decides each message's fate (network faults); every entry is kept."""
        ids, router, down = self.ids, self.router, self.down
        answers, confidence, values, texts = out.answers, out.confidence, out.values, out.texts
        causes = out.cause.tolist() if out.cause is not None else None
        for s in out.senders.tolist():
            sid, value, text, tok, ts = ids[s], values[s], texts[s], int(out.tokens[s]), float(t_sent[s])
            entry = (s, int(answers[s]), int(confidence[s]), text, None, round)
            cause = causes[s] if causes is not None and causes[s] >= 0 else None
            reach, unreachable = self._recipients(s, out)
            for r in unreachable:
                sent = log.add(MessageSent, round, sid, ids[r], t_start=ts, t_end=ts, value=value, tokens_out=tok,
                               detail=text, cause=cause).seq
                log.add(MessageDropped, round, sid, ids[r], t_start=ts, t_end=ts, value=value, tokens_out=tok,
                        fault="no_route", cause=sent)
            for r in reach:
                rid = ids[r]
                sent = log.add(MessageSent, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                               detail=text, cause=cause).seq
                fates = [(-1, down[r])] if r in down else router(round, s, r) if router is not None else None
                if fates is None:  # untouched by any fault (most messages): delivered now
                    self._next[r].append(entry)
                    log.add(MessageDelivered, round, sid, rid, t_start=ts, t_end=t_end, value=value,
                            tokens_out=tok, cause=sent)
                    continue
                self._apply_fates(log, round, s, r, entry, fates, value, tok, ts, t_end, sent)
        self._slow = True

    def _recipients(self, s: int, out: "Outgoing") -> tuple[list[int], list[int]]:
        """(reachable, unreachable) recipients of ``s``'s message (``runtime.links``)."""
        named = out.named.get(s) if out.named else None
        if self.links is None:
            return (list(self.out[s]), []) if named is None else (
                [r for r in named if r in self.out[s]], [r for r in named if r not in self.out[s]])
        return self.links.recipients(s, named, None)

    def _apply_fates(self, log, round, s, r, entry, fates, value, tok, ts, t_end, sent) -> None:
        """A fate is ``(delay, fault[, change])``: delay < 0 drops the message (``fault``
        says why), 0 delivers it now, d > 0 makes it d rounds late (read in round
        ``round + d + 1``); ``change(entry, value) -> (entry, value)`` alters its content
        on the way (corrupt, equivocate, carry a payload). ``sent``: the message's
        ``MessageSent`` seq (each fate's event is caused by it)."""
        sid, rid = self.ids[s], self.ids[r]
        if not fates:
            log.add(MessageDropped, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                    fault="drop", cause=sent)
        for delay, fault, *change in fates:
            got, got_value = change[0](entry, value) if change and change[0] is not None else (entry, value)
            if delay < 0:
                log.add(MessageDropped, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                        fault=fault or "drop", cause=sent)
            elif delay == 0:
                self._next[r].append(got)
                self._slow = True
                log.add(MessageDelivered, round, sid, rid, t_start=ts, t_end=t_end, value=got_value,
                        tokens_out=tok, fault=fault, cause=sent)
            else:
                due = round + delay + 1
                self._later.setdefault(due, []).append((r, got, got_value, tok, fault or "delay", sent))
                log.add(MessageDelayed, round, sid, rid, t_start=ts, t_end=ts, value=value, tokens_out=tok,
                        fault=fault or "delay", detail=f"deliver in round {due}", cause=sent)

    def _send_aggregated(self, log, round, senders, answers, confidence, tokens, t_end) -> None:
        self._remember(round, senders, answers, confidence, None)
        if self.down:
            self._send_aggregated_to_down(log, round, tokens, t_end)
            return
        if self.complete:
            count = int(senders.size) * (self.n - 1)
            tok = int((tokens if senders.size == self.n else tokens[senders]).sum()) * (self.n - 1)
        elif senders.size == self.n:  # everyone spoke: every arc carried its sender's tokens
            count = int(self.src.size)
            tok = int(np.dot(tokens.astype(np.int64), self._out_degree()))
        else:
            mask = self._said.replied[self.src]
            count = int(mask.sum())
            tok = int(tokens[self.src[mask]].sum())
        if count:
            log.row("MessageSent", round, tokens_out=tok, count=count, t_start=t_end, t_end=t_end)
            log.row("MessageDelivered", round, tokens_out=tok, count=count, t_start=t_end, t_end=t_end)

    def _send_aggregated_to_down(self, log, round, tokens, t_end) -> None:
        """Aggregated counts when some receivers are down: their messages are dropped
        (one counted ``MessageDropped`` per fault kind) and their inbox rows emptied."""
        sent = self._said.replied[self.src]
        fault_of = np.array([self.down.get(r, "") for r in range(self.n)], dtype=object)[self.dst]
        fates = [(MessageSent, None, sent), (MessageDelivered, None, sent & (fault_of == ""))]
        fates += [(MessageDropped, f, sent & (fault_of == f)) for f in sorted(set(self.down.values()))]
        for cls, fault, mask in fates:
            if mask.any():
                log.add(cls, round, tokens_out=int(tokens[self.src[mask]].sum()), count=int(mask.sum()),
                        t_start=t_end, t_end=t_end, fault=fault)
        self._lost = np.zeros(self.n, dtype=bool)
        self._lost[list(self.down)] = True

    # --- receiving ----------------------------------------------------------------
    def deliver_due(self, log: EventLog, round: int, t: float) -> None:
        """Move messages delayed until ``round`` into the inboxes (recording delivery)."""
        for r, entry, value, tok, fault, sent in self._later.pop(round, []):
            if r in self.down:  # the receiver went down while the message was late
                log.add(MessageDropped, round, self.ids[entry[0]], self.ids[r], t_start=t, t_end=t,
                        fault=self.down[r], value=value, tokens_out=tok, cause=sent)
                continue
            self._next[r].append(entry)
            self._slow = True
            log.add(MessageDelivered, round, self.ids[entry[0]], self.ids[r], t_start=t, t_end=t, fault=fault,
                    value=value, tokens_out=tok, cause=sent)

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
        lost, self._lost = self._lost, None
        if lost is not None:  # this round's messages to receivers that were down were dropped
            votes[lost] = 0
            weight[lost] = 0
            size[lost] = 0
        slow = None
        if self._slow:
            slow, self._boxes, self._slow = self._next, None, False
            self._add_entries(votes, weight, size, slow)
        if not self.mode.per_message:
            return Inbox(votes, weight, size)
        return Inbox(votes, weight, size, said, slow, self.inn, lost)

    def _tallies(self, said: _Said | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Votes, confidence weight (thousandths) per (receiver, option) and inbox sizes."""
        n, k = self.n, self.k
        if said is None:
            return np.zeros((n, k), dtype=np.int64), np.zeros((n, k), dtype=np.int64), np.zeros(n, dtype=np.int64)
        replied, answers, conf = said.replied, said.answers, said.confidence
        if self.complete:
            return self._complete_tallies(replied, answers, conf)
        if replied.all() and bool((answers >= 0).all()):  # the usual round: no masks over the arcs
            src, dst = self.src, self.dst
            idx = dst * k + answers[src]
            weights = conf.astype(np.float64)[src]
        else:
            mask = replied[self.src]
            src, dst = self.src[mask], self.dst[mask]
            ok = answers[src] >= 0
            idx = dst[ok] * k + answers[src[ok]]
            weights = conf[src[ok]].astype(np.float64)
        votes = np.bincount(idx, minlength=n * k).reshape(n, k).astype(np.int64)
        weight = np.bincount(idx, weights=weights, minlength=n * k)
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


def _codes(log: EventLog, texts: Sequence[str | None] | dict[int, str | None], n: int) -> np.ndarray:
    """String codes per agent of a list over the team or a mapping of a few agents."""
    if not isinstance(texts, dict):
        return log.codes(texts)
    codes = np.zeros(n, dtype=np.int32)
    for i, text in texts.items():
        codes[i] = log.code(text)
    return codes
