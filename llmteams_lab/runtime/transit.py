"""Messages in flight in an asynchronous run: sending, fates, arrivals, retransmissions.

A reply's message leaves its sender at the reply's time, one copy per recipient
(``runtime.links`` says who, and how long each copy is in flight). Each copy then meets
the network faults of the slice it was sent in (the fault injector's router: lost,
delayed, duplicated, altered), and arrives — unless its receiver is down then (lost,
with the receiver's fault) or its mailbox is full (lost, fault ``overflow``). A
reliable network retransmits a copy the network lost, or one slower than the
retransmission timeout, until one gets through; the receiver reads each message once
and later copies are recorded as ``duplicate`` deliveries.

Every send, delivery and drop is an event (``cause`` links a delivery or drop to its
send, a retransmission to the original send). This module is the hot loop of an
asynchronous run, so it writes events as stored values (string codes) directly.

Times: delays are drawn on the clock's microsecond grid (``runtime.links``); an arrival
is its send time plus its delay, one IEEE addition, so the same on every machine — it is
not rounded again, which could put it before its send.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from llmteams_lab.runtime.mailbox import Mailboxes
from llmteams_lab.runtime.scheduler import ARRIVE, TIMER, Calendar

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.engine import Run

__all__ = ["HEARTBEAT", "Transit"]

HEARTBEAT = "heartbeat"
_MAX_COPIES = 16  # a reliable link stops retransmitting a message after this many copies
_NAN = math.nan


class Transit:
    """Sends and delivers the messages of one asynchronous run (see the module docstring).

    ``arrived(r, s, t, seq, counts)`` is called for every delivery (``counts``: whether
    the message joined the mailbox — not a heartbeat or a duplicate), so the engine can
    feed its failure detector and wake the receiver."""

    def __init__(self, run: "Run", calendar: Calendar, mailboxes: Mailboxes, tick: float, reliable: bool,
                 rto: float, arrived: Callable[[int, int, float, int, bool], None]):
        self.run, self.calendar, self.mailboxes = run, calendar, mailboxes
        self.tick, self.reliable, self.rto, self.arrived = tick, reliable, rto, arrived
        log = run.log
        self.store = log.store
        self.sent_kind = log.store.kind_code("MessageSent")
        self.delivered_kind = log.store.kind_code("MessageDelivered")
        self.dropped_kind = log.store.kind_code("MessageDropped")
        self.heartbeat_code = log.code(HEARTBEAT)
        self.delivered: set[int] = set()  # message ids (first send's seq) delivered (reliable networks)

    # --- sending ------------------------------------------------------------------------
    def send(self, s: int, out: Any, t: float) -> None:
        """Sender ``s``'s message of ``out`` (a workload's ``Outgoing``), leaving at ``t``."""
        run, links = self.run, self.run.links
        named = out.named.get(s) if out.named else None
        rng = links.generator(s)
        reach, unreachable = links.recipients(s, named, rng)
        value = out.values[s] if out.values else None
        text = out.texts[s] if out.texts else ""
        cause = int(out.cause[s]) if out.cause is not None and out.cause[s] >= 0 else -1
        codes = (run.log.code(value), run.log.code(text or None), int(out.tokens[s]))
        entry = (s, int(out.answers[s]), int(out.confidence[s]), text, None, run.round)
        for r in unreachable:
            sent = self._sent(s, [r], t, codes, cause)
            self._drop(s, r, t, t, codes, "no_route", sent)
        if reach:
            first = self._sent(s, reach, t, codes, cause)
            delays = links.delays(s, reach, t, rng)
            if self.run.network.router is None and not self.reliable:  # the common case: schedule directly
                schedule = self.calendar.schedule
                for j, (r, arrival) in enumerate(zip(reach, (t + delays).tolist())):
                    schedule(arrival, ARRIVE, "arrive", (r, entry, codes, first + j, None, first + j, t))
                return
            for j, (r, delay) in enumerate(zip(reach, delays.tolist())):
                self.route(s, r, entry, value, codes, t, delay, first + j, first + j, 0)

    def heartbeat(self, i: int, t: float) -> None:
        """A heartbeat from ``i`` to each out-neighbour (it only says "alive")."""
        outs = self.run.network.out[i]
        if not outs:
            return
        rng = self.run.links.generator(i)
        codes = (0, self.heartbeat_code, 0)
        entry = (i, -1, 0, HEARTBEAT, None, self.run.round)
        first = self._sent(i, outs, t, codes, -1)
        for j, (r, delay) in enumerate(zip(outs, self.run.links.delays(i, outs, t, rng).tolist())):
            self.route(i, r, entry, None, codes, t, delay, first + j, first + j, _MAX_COPIES)

    def _sent(self, s: int, receivers: list[int], t: float, codes: tuple, cause: int,
              fault: str | None = None) -> int:
        value, detail, tok = codes
        return self.run.log.block("MessageSent", len(receivers), round=self.run.round, agent=s + 1,
                                  peer=np.asarray(receivers, dtype=np.int32) + 1, t_start=t, t_end=t, value=value,
                                  tokens_out=tok, detail=detail, cause=cause,
                                  fault=self.run.log.code(fault))

    def _drop(self, s: int, r: int, t_sent: float, t: float, codes: tuple, fault: str, cause: int) -> None:
        self.store.append_codes(self.dropped_kind, self.run.round, s + 1, r + 1, t_sent, t, codes[0], 0, 0,
                                codes[2], _NAN, self.run.log.code(fault), 0, 1, cause)

    # --- fates -------------------------------------------------------------------------
    def route(self, s: int, r: int, entry: tuple, value: str | None, codes: tuple, t: float, delay: float,
              sent: int, msg: int, copies: int) -> None:
        """Decide one copy's fate (network faults) and schedule its arrival(s)."""
        run = self.run
        router = run.network.router
        fates = router(run.round, s, r) if router is not None else None
        if fates is None:  # untouched by any fault (most messages)
            self.calendar.schedule(t + delay, ARRIVE, "arrive",
                                   (r, entry, codes, sent, None, msg, t))
            lost = False
        else:
            lost = self._fates(s, r, entry, value, codes, t, delay, sent, msg, fates)
        if self.reliable and copies < _MAX_COPIES and (lost or delay > self.rto):
            self.calendar.schedule(t + self.rto, TIMER, "retransmit",
                                   (s, r, entry, value, codes, msg, copies + 1))

    def _fates(self, s, r, entry, value, codes, t, delay, sent, msg, fates) -> bool:
        """Apply the faults' fates to a copy; whether every copy was lost."""
        if not fates:
            self._drop(s, r, t, t, codes, "drop", sent)
            return True
        lost = True
        for d_rounds, fault, *change in fates:
            if d_rounds < 0:
                self._drop(s, r, t, t, codes, fault or "drop", sent)
                continue
            lost = False
            got, got_codes = entry, codes
            if change and change[0] is not None:
                got, new_value = change[0](entry, value)
                got_codes = (self.run.log.code(new_value), codes[1], codes[2])
            extra = d_rounds * self.tick + self.run.faults.extra_seconds(s, r)
            self.calendar.schedule(t + delay + extra, ARRIVE, "arrive",
                                   (r, got, got_codes, sent, fault, msg, t))
        return lost

    def retransmit(self, data: tuple, t: float) -> None:
        """The retransmission timer of a copy fired: send it again unless it got through."""
        s, r, entry, value, codes, msg, copies = data
        run = self.run
        if msg in self.delivered or not run.alive[s]:
            return  # acknowledged meanwhile (or the sender is down)
        sent = self._sent(s, [r], t, codes, msg, "retransmit")
        delay = float(run.links.delays(s, [r], t, run.links.generator(s))[0])
        self.route(s, r, entry, value, codes, t, delay, sent, msg, copies)

    # --- arriving ------------------------------------------------------------------------
    def arrive(self, data: tuple, t: float) -> None:
        """A copy arrives at its receiver (see the module docstring)."""
        r, entry, codes, sent, fault, msg, t_sent = data
        run, s = self.run, entry[0]
        down = run.network.down
        if r in down:
            self._drop(s, r, t_sent, t, codes, down[r], sent)
            return
        heartbeat = codes[1] == self.heartbeat_code and entry[1] < 0
        duplicate = self.reliable and msg in self.delivered and not heartbeat
        counts = not duplicate and not heartbeat
        if counts and not self.mailboxes.put(r, entry):
            self._drop(s, r, t_sent, t, codes, "overflow", sent)
            return
        if self.reliable:
            self.delivered.add(msg)
        fault_code = run.log.code("duplicate" if duplicate else fault) if (duplicate or fault) else 0
        got = self.store.append_codes(self.delivered_kind, run.round, s + 1, r + 1, t_sent, t, codes[0], 0, 0,
                                      codes[2], _NAN, fault_code, self.heartbeat_code if heartbeat else 0, 1, sent)
        self.arrived(r, s, t, got, counts)
