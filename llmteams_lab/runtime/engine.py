"""The round engine: ``await run.step()`` runs exactly one round; ``run()`` loops.

Shaped like SimPy's core: ``run()`` is nothing but a loop over ``step()``, so the
notebook controller, the CLI and the tests all drive the same code. A round:

1. check the budgets (never start a round the run cannot afford);
2. ``RoundStarted``; messages due this round are delivered into inboxes;
3. the protocol says who acts; every backend answers (batched or concurrently,
   bounded); replies are applied in agent order, never completion order;
4. the protocol decides; every agent that replied broadcasts along its out-arcs;
5. ``RoundEnded`` at the slowest reply (the straggler sets the pace) and, if the
   protocol is done or the budget spent, ``RunEnded``.

Lifecycle: ready → running → finished | failed → closed, with one specific error
for each misuse (see ``llmteams_lab.errors``).
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from llmteams_lab.errors import (
    AuthenticationError,
    RunClosedError,
    RunFailedError,
    RunFinishedError,
    StepInProgressError,
)
from llmteams_lab.events import RoundEnded, RoundStarted, RunEnded, RunStarted
from llmteams_lab.runtime.backend_reports import log_backend_retries, worst_case_round
from llmteams_lab.runtime.backends import RoundReplySlots, gather_round, resolve_backends
from llmteams_lab.runtime.deliberation import Deliberation
from llmteams_lab.runtime.faults import FaultInjector, needs_messages
from llmteams_lab.runtime.gc_pause import resume_gc
from llmteams_lab.runtime.log import EventLog
from llmteams_lab.runtime.network import Network
from llmteams_lab.runtime.result import RunResult
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.runtime.workdivision import WorkDivision
from llmteams_lab.runtime.workload import Workload
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import FaultSpec

__all__ = ["RoundSummary", "Run"]


@dataclass(frozen=True)
class RoundSummary:
    """What one ``step()`` did: the team's decision and agreement after the round."""

    round: int
    decision: str | None
    correct: bool | None
    agreement: float
    done: bool
    reason: str
    clock: float


class Run:
    """One run of a team. Use ``async with Run(spec) as run`` or call ``aclose()``.

    backends  ``None`` (build from the spec), one backend for all agents, or a mapping
              from agent id or backend name to a backend instance
    sinks     extra event sinks (every event is also kept in ``run.events``)
    """

    def __init__(self, spec: TeamSpec, *, backends: Any = None, sinks: Sequence[Sink] = (),
                 run_id: str | None = None):
        self.spec = spec
        self.groups = resolve_backends(spec, backends)
        explicit = spec.logging == "messages" or not all(g.batched for g in self.groups) \
            or needs_messages(spec.faults)
        self.log = EventLog(run_id or f"{spec.name}-{spec.fingerprint()}", sinks)
        self.workload: Workload = _make_workload(spec, self.log, explicit)
        self.network = Network(spec.ids, spec.arcs(), self.workload.k, explicit=explicit)
        self.alive = np.ones(len(spec.agents), dtype=bool)
        self.faults = FaultInjector(spec, self.log, self.workload, self.network, self.groups, self.alive)
        self.round = 0
        self.clock = 0.0
        self.tokens_used = 0
        self.status = "ready"
        self.end_reason: str | None = None
        self._stepping = False
        self._max_round_tokens = 0

    # --- public API -------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.log.run_id

    @property
    def events(self) -> list:
        """Every event recorded so far, in order (typed records)."""
        return self.log.events

    @property
    def question(self):
        """The deliberation question (``None`` for workloads without one)."""
        return getattr(self.workload, "question", None)

    def state(self) -> dict:
        """A JSON-able snapshot of every agent's current state (for UIs), with its
        liveness (``alive``) and the ``faults`` acting on it."""
        return self.faults.annotate(self.workload.state())

    def inject(self, fault: FaultSpec | dict) -> FaultSpec:
        """Inject ``fault`` live: it acts from the next round on, exactly as if it had been
        scheduled in the spec from that round (see ``runtime.faults.spec_from_events``).

        Validated against the team first: an invalid fault raises the same
        :class:`SpecError` the spec would and leaves the run unchanged. Returns the fault
        with its effective schedule.
        """
        if self.done:
            self._check_can_step()
        return self.faults.inject(fault, self.round + 1)

    @property
    def done(self) -> bool:
        return self.status in ("finished", "failed", "closed")

    async def step(self) -> RoundSummary:
        """Run exactly one round and return its summary.

        CPython's cyclic garbage collector is paused while the round runs and resumes
        when it ends. Why: a round allocates tens of thousands of short-lived, acyclic
        records (one event per message); with the collector on, those allocations
        trigger a full scan of the whole process heap every few rounds (more than the
        round's own work for a 64-agent all-to-all team). Nothing is leaked: cycles
        created during the round are collected by a later collection (when the round's
        young objects are nearly all new log records, they go straight to the oldest
        generation; see ``runtime.gc_pause``).
        """
        self._check_can_step()
        self._stepping = True
        gc_was_enabled = gc.isenabled()
        gc.disable()
        logged = len(self.log.events)
        try:
            return await self._step()
        except BaseException as err:
            if self.status != "closed":
                self.status = "failed"
                self.end_reason = "cancelled" if isinstance(err, asyncio.CancelledError) \
                    else getattr(err, "end_reason", "error")
                self.log.add(RunEnded, self.round, t_start=self.clock, t_end=self.clock, detail=self.end_reason)
            raise
        finally:
            if gc_was_enabled:
                resume_gc(len(self.log.events) - logged)
            self._stepping = False
            self.log.flush()

    async def run(self, max_rounds: int | None = None) -> RunResult:
        """Step until the run ends (or ``max_rounds`` more rounds); return the result."""
        stepped = 0
        while not self.done and (max_rounds is None or stepped < max_rounds):
            await self.step()
            stepped += 1
        return self.result()

    def result(self) -> RunResult:
        """The run so far as a :class:`RunResult` (events, decision, reason)."""
        value, correct = self.workload.outcome()
        return RunResult(self.spec, self.run_id, list(self.log.events), self.end_reason, value, correct,
                         self.round)

    async def aclose(self) -> None:
        """Release backends and sinks. An unfinished run records ``RunEnded('closed')``."""
        if self.status == "closed":
            return
        if self.status in ("ready", "running"):
            self.end_reason = "closed"
            self.log.add(RunEnded, self.round, t_start=self.clock, t_end=self.clock, detail="closed")
        self.status = "closed"
        try:
            for group in self.groups:
                await group.backend.aclose()
        finally:
            self.log.close()

    async def __aenter__(self) -> "Run":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<Run {self.run_id} {self.status} round={self.round} agents={len(self.spec.agents)}>"

    # --- the round ----------------------------------------------------------------------
    def _check_can_step(self) -> None:
        if self.status == "closed":
            raise RunClosedError(f"run {self.run_id} is closed; create a new Run to continue")
        if self._stepping:
            raise StepInProgressError(f"run {self.run_id} is already stepping round {self.round}; "
                                      "await the running step() first")
        if self.status == "failed":
            raise RunFailedError(f"run {self.run_id} failed in round {self.round}; its events are kept "
                                 "in run.events — reset by creating a new Run")
        if self.status == "finished":
            raise RunFinishedError(f"run {self.run_id} already ended ({self.end_reason}) after "
                                   f"round {self.round}")

    async def _step(self) -> RoundSummary:
        if self.status == "ready":
            self.status = "running"
            self.log.add(RunStarted, 0, detail=self.spec.to_json(), value=self.spec.name)
        reason = self._budget_stop()
        if reason:
            return self._end(reason)
        self.round += 1
        r, t0 = self.round, self.clock
        self.log.add(RoundStarted, r, t_start=t0, t_end=t0)
        faults = self.faults if self.faults.active else None
        if faults:
            faults.begin_round(r, t0)
        self.network.deliver_due(self.log, r, t0)
        inbox = self.network.take_inbox()
        work = self.workload
        acting = work.acting(r, self.alive)
        slots = RoundReplySlots(len(self.spec.agents))
        await gather_round(self.groups, acting, work.batch(r, acting, inbox),
                           lambda i: work.request(r, i, inbox), slots, self.spec.concurrency)
        log_backend_retries(self.log, self.groups, self.network.ids, r, t0)  # spec.ids rebuilds a tuple
        if faults:
            faults.after_replies(r, t0, acting, inbox, slots)
        self._count_usage(acting, slots)
        t_end = work.apply(r, t0, acting, slots)
        if faults:
            faults.after_apply(r, acting, slots)
        work.decide(r, self.alive)
        out = work.broadcast(r, acting, slots)
        if faults:
            t_end = faults.round_end(out.senders, t0 + slots.latency, t_end)
        self.network.send(self.log, r, out.senders, out.answers, out.confidence, out.values, out.texts,
                          out.tokens, t0 + slots.latency, t_end)
        summary = self._close_round(r, t0, t_end)
        if not summary.done and any(isinstance(e, AuthenticationError) for e in slots.failures.values()):
            return self._end("auth_failed")  # a refused key never heals: stop, keeping every event
        return summary

    def _count_usage(self, acting: np.ndarray, slots: RoundReplySlots) -> None:
        everyone = acting.size == slots.tokens_in.size  # no gathers in the common case
        used = int(slots.tokens_in.sum() + slots.tokens_out.sum()) if everyone else \
            int(slots.tokens_in[acting].sum() + slots.tokens_out[acting].sum())
        self.tokens_used += used
        self._max_round_tokens = max(self._max_round_tokens, used)

    def _close_round(self, r: int, t0: float, t_end: float) -> RoundSummary:
        self.clock = t_end
        value, correct = self.workload.outcome()
        decision = self.workload.decision
        self.log.add(RoundEnded, r, t_start=t0, t_end=t_end, value=value, correct=correct,
                     detail=decision.reason or None)
        if decision.done:
            self._end(decision.reason)
        elif r >= self.spec.budgets.max_rounds:
            self._end("max_rounds")
        return RoundSummary(r, value, correct, self._agreement(), self.status == "finished",
                            self.end_reason or "", self.clock)

    def _agreement(self) -> float:
        return self.workload.agreement(self.alive)

    def _budget_stop(self) -> str | None:
        """The reason the next round cannot start, or ``None``. Worst-case estimate of the
        next round: what backends that can bound it say (``worst_case_round``, e.g. the
        openai backend's token cap and prompt bound), plus — for the others — the most
        any earlier round used (0 before the first round)."""
        b = self.spec.budgets
        if self.round >= b.max_rounds:
            return "max_rounds"
        worst_tokens, worst_cost = 0, 0.0
        if b.max_tokens is not None or b.max_cost_usd is not None:
            worst_tokens, worst_cost, unbounded = worst_case_round(self.groups, self.alive, self.round + 1,
                                                                   self.workload)
            worst_tokens += self._max_round_tokens if unbounded else 0
        if b.max_tokens is not None and self.tokens_used + worst_tokens > b.max_tokens:
            return "budget_tokens"
        if b.max_cost_usd is not None and self.workload.cost_used + worst_cost > b.max_cost_usd:
            return "budget_cost"
        if b.max_wall_s is not None and self.clock >= b.max_wall_s:
            return "budget_wall"
        return None

    def _end(self, reason: str) -> RoundSummary:
        self.status = "finished"
        self.end_reason = reason
        value, correct = self.workload.outcome()
        self.log.add(RunEnded, self.round, t_start=self.clock, t_end=self.clock, value=value, correct=correct,
                     detail=reason)
        return RoundSummary(self.round, value, correct, self._agreement(), True, reason, self.clock)


def _make_workload(spec: TeamSpec, log: EventLog, explicit: bool) -> Workload:
    """The workload the spec's task asks for (deliberation on a question by default)."""
    if spec.task.kind == "work_division":
        return WorkDivision(spec, log, explicit=explicit)
    return Deliberation(spec, log, explicit=explicit)
