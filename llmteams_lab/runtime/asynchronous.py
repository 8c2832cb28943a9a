"""Asynchronous execution: a discrete-event simulation on the run's clock.

There is no barrier. Every live agent acts at time 0; after that an agent acts when
something wakes it — a message arriving while it is idle (or, with a ``wait`` policy,
once it has heard from all or a quorum of its peers, or suspects the rest), or, for
workloads whose agents keep working (work division), as soon as its last turn ended.
Acting takes the agent's latency; while it is busy, arrivals queue in its mailbox
(``runtime.mailbox``) and it reads them all on its next turn. Its reply is applied when
the latency has passed, and its messages leave then, each taking its link's delay
(``runtime.links``). Network faults act on each message; a message to an agent that is
down when it arrives is lost.

The calendar (``runtime.scheduler``) orders every happening by (time, priority,
counter), so the same seed gives the same events, byte for byte. A "round" of an
asynchronous run is a reporting slice of ``tick_s`` virtual seconds: ``step()``
processes every happening up to the slice's end and closes it with ``RoundEnded``
(the team's decision then), and ``advance(1)`` processes a single happening. Faults
scheduled for round k act from the start of slice k. The run ends when the workload
decides, when nothing is left to happen (``quiescent``), or on a budget.

Backends that answer in virtual time (simulated agents, mock, replay) are awaited when
an agent acts and their latency is the virtual time the turn takes. A real model
(``openai``) runs in *real time* (like SimPy's ``rt``, ``runtime.realtime``): the run
clock follows the wall clock from the run's start, calls run concurrently as agents are
woken, and a reply is applied when its call returns — the order they returned in is what
the log records, so replaying the log reproduces the run exactly. What wakes an agent,
and when, is ``runtime.waking``.

Causality: each reply's ``cause`` is the delivery (or suspicion) that woke its agent,
each message's the reply it was sent in, each delivery's its message — so
happened-before can be checked from the log (``metrics.causality``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.events import (
    RoundStarted,
    on_time_grid,
)
from llmteams_lab.rounds import Inbox, RoundReplySlots, on_grid
from llmteams_lab.runtime.bulk import BulkTransit, bulk_refusal
from llmteams_lab.runtime.detector import Detector
from llmteams_lab.runtime.dispatch import gather_round, hold_to_limits, log_backend_retries, round_stop_reason
from llmteams_lab.runtime.lifecycle import RoundSummary
from llmteams_lab.runtime.mailbox import Mailboxes
from llmteams_lab.runtime.realtime import WallClock
from llmteams_lab.runtime.scheduler import (
    REPLY,
    TIMER,
    Calendar,
    Happening,
)
from llmteams_lab.runtime.transit import Transit
from llmteams_lab.runtime.turn_budget import TurnBudget
from llmteams_lab.runtime.waking import BUSY, IDLE, Waking
from llmteams_lab.spec.faults import MESSAGE_KINDS
from llmteams_lab.spec.protocol import ONE_SHOT

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.engine import Run

__all__ = ["Happenings"]

class Happenings(Waking):
    """Steps a run as an asynchronous discrete-event simulation (module docstring)."""

    name = "asynchronous"

    def __init__(self, run: "Run"):
        self.run = run
        spec = run.spec
        n = len(spec.agents)
        self.n = n
        self.calendar = Calendar()
        net = spec.network
        self.tick = float(net.tick_s) if net is not None and net.tick_s is not None else _default_tick(spec)
        self.mailboxes = Mailboxes(n, net.mailbox if net is not None else None)
        rto = float(net.retransmit_s) if net is not None and net.retransmit_s is not None else \
            max(4.0 * (net.delay_s if net is not None else 0.0), 0.1)
        self.transit = Transit(run, self.calendar, self.mailboxes, self.tick, bool(net is not None and net.reliable),
                               rto, self._arrived)
        self.state = np.full(n, IDLE, dtype=np.int8)
        self.turns = np.zeros(n, dtype=np.int64)  # each agent's turns so far (its local round)
        self.woken = np.zeros(n, dtype=bool)  # an ACTIVATE is pending
        self.wake_cause = np.full(n, -1, dtype=np.int64)
        self.last_delivery = np.full(n, -1, dtype=np.int64)  # seq of the latest message in each mailbox
        self.timer_gen = np.zeros(n, dtype=np.int64)  # a workload timer fires only if not superseded
        self.continuous = run.kind.continuous
        self.once = spec.task.work is None and spec.protocol.kind in ONE_SHOT
        self.waits = spec.protocol.waits_for
        self.quorum = spec.protocol.quorum_size(n)
        det = spec.detector
        self.detector = Detector(run.network.ids, run.network.inn, det.timeout_s, run.log) if det else None
        self.heartbeat = det.heartbeat_s if det is not None else None
        self.batches = 0  # activation batches so far (keys the simulated agents' draws)
        self.wall = WallClock(not all(g.backend.virtual_time for g in run.groups))  # real models: real time
        self.in_flight = self.wall.calls  # real-time calls under way
        # nothing acts on single messages: they go in bulk (``runtime.bulk``), same events
        self.why_per_message = bulk_refusal(run)
        self.bulk = BulkTransit(run, self.calendar, len(run.workload.options), self.wake_cause) \
            if self.why_per_message is None else None
        self.wake_at = np.full(n, np.inf)  # bulk: when each idle agent's pending activation is due
        self.decided_at: float | None = None
        self._closed = True  # the current slice was closed (the next step opens one)
        self.budget = TurnBudget(run)  # each turn checked on its mailbox; real-time turns held

    # --- one slice -----------------------------------------------------------------------
    async def step(self, happenings: int | None = None) -> RoundSummary:
        """Process the happenings of the current slice (or only ``happenings`` of them);
        close the slice when its end is reached."""
        run = self.run
        if self._closed:
            reason = run.budget_stop() if self.budget.stopping is None else None
            if reason:
                return run.end(reason)
            self._open_slice()
        t1 = run.round * self.tick
        done = 0
        bulk = self.bulk
        unlogged = None  # per message in bulk: a landing's copies are logged with the next happening's
        while happenings is None or done < happenings:
            nxt = await self.wall.next(self.calendar, t1) if self.wall.on else self._due(t1)
            if nxt is None:
                break
            if bulk is not None:  # per message: log the copies that arrived before it
                if bulk.logs_before(nxt.kind):
                    bulk.flush(nxt.time)
                    unlogged = None
                else:
                    unlogged = nxt.time
            if nxt.time > run.clock:
                run.clock = nxt.time
            if nxt.kind == "activate":  # the one happening that awaits (the agents' backends)
                await self._activate(self.calendar.pop_same(nxt))
            else:
                self._handle(nxt)
            self.budget.last_time = nxt.time
            done += 1
            if run.workload.decision.done:
                self.decided_at = nxt.time
                break
            if self.budget.stopping is not None and self._drained():
                break
        if unlogged is not None:  # the log a step leaves holds every copy arrived by its last happening
            bulk.flush(unlogged)
        if (run.workload.decision.done or happenings is None or self._next_due_after(t1)
                or self._drained()):
            return self._close_slice(t1)
        return self._summary()

    def _drained(self) -> bool:
        """A budget stop whose turns in progress have all finished (``runtime.turn_budget``)."""
        return self.budget.drained(self.state == BUSY, self.in_flight)

    def _open_slice(self) -> None:
        run = self.run
        if run.round == 0:
            self._start()
        run.round += 1
        self._closed = False
        t0 = (run.round - 1) * self.tick
        run.log.add(RoundStarted, run.round, t_start=t0, t_end=t0)
        run.faults.begin_round(run.round, t0)
        for i in np.flatnonzero(~run.alive & (self.state == BUSY)).tolist():
            self.state[i] = IDLE  # a crash loses the turn in progress

    def _next_due_after(self, t1: float) -> bool:
        due = self.calendar.next_time()
        return (due is None or due > t1) and not self.in_flight

    def _close_slice(self, t1: float) -> RoundSummary:
        run = self.run
        self._closed = True
        decided = run.workload.decision.done
        drained = not decided and self._drained()
        t_end = self.decided_at if decided and self.decided_at is not None else t1
        if drained:  # a budget stop: the slice ends with the last turn in progress
            t_end = max(self.budget.last_time, (run.round - 1) * self.tick)
        elif not decided and not self.calendar and not self.in_flight:
            t_end = max(run.clock, (run.round - 1) * self.tick)  # nothing left: the slice ends when things did
        if self.bulk is not None:  # a decision ends the run before the deciding replies' copies arrive
            self.bulk.close_slice((run.round - 1) * self.tick, t_end, self.bulk.last_sent if decided else None)
        summary = run.close_round(run.round, (run.round - 1) * self.tick, t_end)
        if not summary.done and drained:
            return run.end(self.budget.stopping)  # type: ignore[arg-type]
        if not summary.done and not self.calendar and not self.in_flight:
            return run.end("quiescent")
        return summary

    def _summary(self) -> RoundSummary:
        run = self.run
        value, correct = run.workload.outcome()
        return RoundSummary(run.round, value, correct, run.workload.agreement(run.alive), run.done,
                            run.end_reason or "", run.clock)

    # --- the calendar ----------------------------------------------------------------------
    def _due(self, t1: float) -> Happening | None:
        """In virtual time, the next happening due by ``t1``, or ``None`` when the slice
        has nothing more (in real time: ``WallClock.next``)."""
        due = self.calendar.next_time()
        return self.calendar.pop() if due is not None and due <= t1 else None

    @property
    def realtime(self) -> bool:
        """Whether the run clock follows the wall clock (``runtime.realtime``)."""
        return self.wall.on

    def follow_wall_clock(self) -> None:
        """Run in real time from now on, the wall clock continuing from the run's clock: a
        fork re-executes a run's recorded turns in virtual time, then hands over to a real
        model (``datasets.async_fork``)."""
        self.wall.follow(self.run.clock)

    def _handle(self, h: Happening) -> None:
        """Any happening but an activation (``step`` awaits those)."""
        if h.kind == "arrive":
            self.transit.arrive(h.data, h.time)
        elif h.kind == "land":
            self.bulk.land(h.data, h.time)
        elif h.kind == "reply":
            self._reply(self.calendar.pop_same(h))
        elif h.kind == "detect":
            self._detect(h.data, h.time)
        elif h.kind == "heartbeat":
            self._beat(h.data, h.time)
        elif h.kind == "retransmit":
            self.transit.retransmit(h.data, h.time)
        elif h.kind == "timer":
            i, generation = h.data
            if generation == self.timer_gen[i] and self.state[i] == IDLE:
                self._wake(i, h.time, -1, forced=True)

    async def _activate(self, batch: list[Happening]) -> None:
        run = self.run
        if self.bulk is not None:  # superseded activations (brought forward) are skipped
            wake_at = self.wake_at
            batch = [h for h in batch if wake_at[h.data] == h.time]
            for h in batch:
                wake_at[h.data] = np.inf
        alive, state, woken = run.alive, self.state, self.woken
        if len(batch) == 1:  # one agent (most asynchronous activations): no set, no sort
            i = batch[0].data
            woken[i] = False
            acting = [i] if alive[i] and state[i] == IDLE else []
        else:
            acting = sorted({h.data for h in batch if alive[h.data] and state[h.data] == IDLE})
            for h in batch:
                woken[h.data] = False
        if not acting or self.budget.stopping is not None:
            return
        t0 = batch[0].time
        idx = np.array(acting, dtype=np.int64)
        inbox = self._inbox(idx) if self.bulk is None else self._bulk_inbox(idx, t0)
        inbox.now = t0
        preview = self.budget.refusal(idx, inbox, self.turns, t0)  # on the mailboxes they would read
        if preview is None:
            return
        at = acting[0] if len(acting) == 1 else idx  # one agent: scalar updates, no fancy indexing
        self.state[at] = BUSY
        self.turns[at] += 1
        self.timer_gen[at] += 1  # a turn supersedes the agents' pending timers
        self.batches += 1
        slots = RoundReplySlots(self.n)
        slots.cause = self.wake_cause.copy()
        if self.wall.on:
            self.budget.hold(idx, preview, slots)
            self._start_calls(idx, inbox, slots, t0)
            return
        await self._call(idx, inbox, slots, t0)
        self._schedule_replies(idx, slots, t0)

    def injected(self, kind: str) -> None:
        """A fault of ``kind`` was injected into the running team. A fault on messages
        needs each message followed: later broadcasts leave one message at a time
        (``runtime.transit``) while those already in flight land in bulk — the faults act
        on messages sent from the next slice on, so nothing in flight is affected."""
        if self.bulk is not None and kind in MESSAGE_KINDS:
            self.bulk.sending = False

    def _bulk_inbox(self, idx: np.ndarray, t0: float) -> Inbox:
        """The inbox from the blocks in flight, plus any messages sent one by one."""
        inbox = self.bulk.take(idx, t0)
        if not self.bulk.sending:
            single = self._inbox(idx)
            inbox.votes += single.votes
            inbox.weight += single.weight
            inbox.size += single.size
        return inbox

    def _inbox(self, acting: np.ndarray) -> Inbox:
        """The acting agents' mailboxes as one inbox (tallies, entries in arrival order)."""
        k = len(self.run.workload.options)
        inbox = Inbox.empty(self.n, k)
        slow: list[list] = [[] for _ in range(self.n)]
        for i in acting.tolist():
            slow[i] = self.mailboxes.take(i)
            inbox.size[i] = len(slow[i])
            for _, a, conf, *_ in slow[i]:
                if a >= 0:
                    inbox.votes[i, a] += 1
                    inbox.weight[i, a] += conf
        return Inbox(inbox.votes, inbox.weight, inbox.size, None, slow, self.run.network.inn)

    async def _call(self, idx: np.ndarray, inbox: Inbox, slots: RoundReplySlots, t0: float) -> None:
        run, work, r = self.run, self.run.workload, self.run.round
        turns = self.turns
        await gather_round(run.groups, idx, work.batch(self.batches, idx, inbox),
                           lambda i: work.request(int(turns[i]), i, inbox), slots, run.spec.concurrency,
                           work.options)
        log_backend_retries(run.log, run.groups, run.network.ids, r, t0)
        run.faults.after_replies(r, t0, idx, inbox, slots)
        hold_to_limits(run.log, run.groups, run.network.ids, r, idx, slots, t0)
        run.count_usage(idx, slots)

    def _schedule_replies(self, idx: np.ndarray, slots: RoundReplySlots, t0: float) -> None:
        for i in idx.tolist():  # exactly the reply's t_end as the workload records it (t0 + latency)
            self.calendar.schedule(t0 + float(slots.latency[i]), REPLY, "reply", (slots, t0, i))

    def _start_calls(self, idx: np.ndarray, inbox: Inbox, slots: RoundReplySlots, t0: float) -> None:
        """Real time: call the backends in the background; each reply is applied when its
        call returns, at the wall-clock time it returned."""
        async def call() -> None:
            await self._call(idx, inbox, slots, t0)
            now = self.wall.now()
            # on the grid, and applied at t0 + latency as in virtual time, so a replay of the
            # log (a fork) re-executes the reply to the last bit
            slots.latency[idx] = on_grid(np.maximum(np.full(idx.size, now - t0), 0.0))
            for i in idx.tolist():
                self.calendar.schedule(t0 + float(slots.latency[i]), REPLY, "reply", (slots, t0, i))

        self.wall.start(call())

    # --- replies -------------------------------------------------------------------------
    def _reply(self, batch: list[Happening]) -> None:
        """Apply replies that return at one instant (grouped by the turn they belong to)."""
        if len(batch) == 1:  # one reply (most asynchronous turns)
            slots, t0, i = batch[0].data
            self.budget.release(slots)
            self._apply(slots, t0, [i], batch[0].time)
            return
        groups: dict[int, tuple[RoundReplySlots, float, list[int]]] = {}
        for h in batch:
            slots, t0, i = h.data
            groups.setdefault(id(slots), (slots, t0, []))[2].append(i)
        for slots, t0, agents in groups.values():
            self.budget.release(slots)  # a real-time turn's calls are counted now
            self._apply(slots, t0, sorted(agents), batch[0].time)

    def _apply(self, slots: RoundReplySlots, t0: float, agents: list[int], t: float) -> None:
        run, work, r = self.run, self.run.workload, self.run.round
        alive = [i for i in agents if run.alive[i]]  # a crash while busy loses the turn
        if self.bulk is not None:
            self.bulk.last_sent = []
        for i in agents:
            self.state[i] = IDLE
        if not alive:
            return
        acting = np.asarray(alive, dtype=np.int64)
        work.apply(r, t0, acting, slots)
        run.faults.after_apply(r, acting, slots)
        work.decide(r, run.alive)
        out = work.broadcast(r, acting, slots)
        if self.bulk is not None and out.named:  # a reply named its recipients: follow messages from now on
            self.bulk.sending = False
        if self.bulk is not None and self.bulk.sending:
            self._send_bulk(out, t)
        else:
            for s in out.senders.tolist():
                self.transit.send(s, out, t)
        for i, seconds in sorted(work.timers(r, acting).items()):
            self.timer_gen[i] += 1
            self.calendar.schedule(t + seconds, TIMER, "timer", (i, int(self.timer_gen[i])))
        stop = round_stop_reason(slots.failures.get(i) for i in alive) if slots.failures else None
        if stop:  # a refused key, usage above bound
            run.end(stop)
            return
        self._wake_after_reply(alive, t)

    # --- for UIs ---------------------------------------------------------------------------
    def annotate(self, state: dict) -> dict:
        """Add each agent's turn state, mailbox length and suspicions to a UI snapshot."""
        ids = self.run.network.ids
        for i, aid in enumerate(ids):
            entry = state.setdefault(aid, {})
            waiting = self.bulk.waiting(i, self.run.clock) if self.bulk is not None else self.mailboxes.waiting(i)
            entry.update(busy=bool(self.state[i] == BUSY), mailbox=waiting,
                         turns=int(self.turns[i]))
            if self.detector is not None:
                entry["suspects"] = sorted(ids[s] for s in self.detector.suspects[i])
        return state


def _default_tick(spec: Any) -> float:
    """The reporting slice: the team's median reply latency (at least a millisecond)."""
    latencies = sorted(a.latency_s for a in spec.agents)
    return on_time_grid(max(latencies[len(latencies) // 2], 1e-3))
