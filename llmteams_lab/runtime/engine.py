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
import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.errors import (
    RunClosedError,
    RunFailedError,
    RunFinishedError,
    StepInProgressError,
)
from llmteams_lab.events import (
    AgentFailed,
    AgentReplied,
    AnswersTallied,
    RoundEnded,
    RoundStarted,
    RunEnded,
    RunStarted,
)
from llmteams_lab.messages import AgentRequest
from llmteams_lab.protocols import Decision, make_protocol, make_question
from llmteams_lab.runtime.backends import RoundReplySlots, gather_round, resolve_backends
from llmteams_lab.runtime.log import EventLog
from llmteams_lab.runtime.network import Inbox, Network
from llmteams_lab.runtime.result import RunResult
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec

__all__ = ["Run", "RoundSummary"]


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
        self.question = make_question(spec.task, spec.seed)
        self.k = len(self.question.options)
        self.truth = self.question.options.index(self.question.answer)
        self.protocol = make_protocol(spec, self.k)
        self.groups = resolve_backends(spec, backends)
        explicit = spec.logging == "messages" or not all(g.batched for g in self.groups)
        self.network = Network(spec.ids, spec.arcs(), self.k, explicit=explicit)
        self.log = EventLog(run_id or f"{spec.name}-{spec.fingerprint()}", sinks)
        n = len(spec.agents)
        self.answers = np.full(n, -1, dtype=np.int64)
        self.confidence = np.zeros(n, dtype=np.int64)
        self.alive = np.ones(n, dtype=bool)
        self.round = 0
        self.clock = 0.0
        self.tokens_used = 0
        self.cost_used = 0.0
        self.decision = Decision(-1)
        self.status = "ready"
        self.end_reason: str | None = None
        self._stepping = False
        self._limit = asyncio.Semaphore(spec.concurrency)
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
    def done(self) -> bool:
        return self.status in ("finished", "failed", "closed")

    async def step(self) -> RoundSummary:
        """Run exactly one round and return its summary."""
        self._check_can_step()
        self._stepping = True
        try:
            return await self._step()
        except BaseException:
            if self.status != "closed":
                self.status = "failed"
                self.end_reason = "error"
                self.log.add(RunEnded, self.round, t_start=self.clock, t_end=self.clock, detail="error")
            raise
        finally:
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
        value = self.question.options[self.decision.value] if self.decision.value >= 0 else None
        return RunResult(self.spec, self.run_id, list(self.log.events), self.end_reason, value,
                         None if value is None else self.decision.value == self.truth, self.round)

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
            raise StepInProgressError(f"run {self.run_id} is already stepping round {self.round + 1}; "
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
        self.network.deliver_due(self.log, r, t0)
        inbox = self.network.take_inbox()
        acting = self.protocol.acting(r, self.alive)
        slots = RoundReplySlots(len(self.spec.agents))
        batch = self._batch(r, acting, inbox)
        await gather_round(self.groups, acting, batch, lambda i: self._request(r, i, inbox), slots, self._limit)
        t_end = self._apply_replies(r, t0, acting, slots)
        self.decision = self.protocol.decide(r, self.answers, self.confidence, self.alive)
        senders = acting[slots.replied[acting]]
        values = self._values()
        texts = [slots.replies[i].text if i in slots.replies else "" for i in range(len(values))] \
            if self.network.explicit else []
        self.network.send(self.log, r, senders, self.answers, self.confidence, values, texts,
                          slots.tokens_out, t0 + slots.latency, t_end)
        return self._close_round(r, t0, t_end)

    def _batch(self, r: int, acting: np.ndarray, inbox: Inbox) -> RoundBatch:
        return RoundBatch(self.run_id, r, self.question, self.protocol.kind, acting, self.answers.copy(),
                          inbox.votes, inbox.weight, inbox.size, self.protocol.view(r))

    def _request(self, r: int, i: int, inbox: Inbox) -> AgentRequest:
        agent = self.spec.agents[i]
        prev = int(self.answers[i])
        return AgentRequest(
            self.run_id, r, agent.id, agent.role, self.question,
            inbox.messages(i, self.spec.ids, self.question),
            self.question.options[prev] if prev >= 0 else None,
            self.confidence[i] / 1000 if prev >= 0 else None,
            self.protocol.kind, self.protocol.view(r),
        )

    def _apply_replies(self, r: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> float:
        """Record replies/failures in agent order; update answers; return the round's end."""
        replied = acting[slots.replied[acting]]
        self.answers[replied] = slots.answer[replied]
        self.confidence[replied] = slots.confidence[replied]
        used = int(slots.tokens_in[acting].sum() + slots.tokens_out[acting].sum())
        self.tokens_used += used
        self._max_round_tokens = max(self._max_round_tokens, used)
        if self.network.explicit:
            self._log_replies(r, t0, acting, slots)
        else:
            self._log_tally(r, t0, replied, slots)
        return t0 + (float(slots.latency[acting].max()) if acting.size else 0.0)

    def _log_replies(self, r: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> None:
        ids, opts, add = self.spec.ids, self.question.options, self.log.add
        for i in acting.tolist():
            t_end = t0 + float(slots.latency[i])
            if i in slots.failures:
                err = slots.failures[i]
                add(AgentFailed, r, ids[i], t_start=t0, t_end=t_end, fault=getattr(err, "kind", "error"),
                    detail=str(err))
                continue
            reply = slots.replies.get(i)
            a = int(slots.answer[i])
            value = opts[a] if a >= 0 else (reply.answer if reply else None)
            cost = reply.cost_usd if reply is not None else 0.0
            if cost:
                self.cost_used += cost
            add(AgentReplied, r, ids[i], t_start=t0, t_end=t_end, value=value, correct=a == self.truth,
                tokens_in=int(slots.tokens_in[i]), tokens_out=int(slots.tokens_out[i]), cost_usd=cost,
                detail=json.dumps({"confidence": int(slots.confidence[i]) / 1000}))

    def _log_tally(self, r: int, t0: float, replied: np.ndarray, slots: RoundReplySlots) -> None:
        counts = np.bincount(slots.answer[replied], minlength=self.k)
        t_end = t0 + (float(slots.latency[replied].max()) if replied.size else 0.0)
        for option in np.flatnonzero(counts).tolist():
            who = replied[slots.answer[replied] == option]
            self.log.add(AnswersTallied, r, t_start=t0, t_end=t_end, value=self.question.options[option],
                         correct=option == self.truth, count=int(counts[option]),
                         tokens_in=int(slots.tokens_in[who].sum()), tokens_out=int(slots.tokens_out[who].sum()),
                         cost_usd=0.0)

    def _values(self) -> list[str | None]:
        opts = self.question.options
        return [opts[a] if a >= 0 else None for a in self.answers.tolist()]

    def _close_round(self, r: int, t0: float, t_end: float) -> RoundSummary:
        self.clock = t_end
        d = self.decision
        value = self.question.options[d.value] if d.value >= 0 else None
        correct = None if value is None else d.value == self.truth
        self.log.add(RoundEnded, r, t_start=t0, t_end=t_end, value=value, correct=correct, detail=d.reason or None)
        if d.done:
            self._end(d.reason)
        elif r >= self.spec.budgets.max_rounds:
            self._end("max_rounds")
        return RoundSummary(r, value, correct, self._agreement(), self.status == "finished",
                            self.end_reason or "", self.clock)

    def _agreement(self) -> float:
        live = self.answers[self.alive & (self.answers >= 0)]
        if live.size == 0:
            return 0.0
        return float(np.bincount(live).max()) / int(self.alive.sum())

    def _budget_stop(self) -> str | None:
        """The reason the next round cannot start, or ``None``. Worst-case estimate for
        tokens: the most any earlier round used (0 before the first round)."""
        b = self.spec.budgets
        if self.round >= b.max_rounds:
            return "max_rounds"
        if b.max_tokens is not None and self.tokens_used + self._max_round_tokens > b.max_tokens:
            return "budget_tokens"
        if b.max_cost_usd is not None and self.cost_used > b.max_cost_usd:
            return "budget_cost"
        if b.max_wall_s is not None and self.clock >= b.max_wall_s:
            return "budget_wall"
        return None

    def _end(self, reason: str) -> RoundSummary:
        self.status = "finished"
        self.end_reason = reason
        d = self.decision
        value = self.question.options[d.value] if d.value >= 0 else None
        self.log.add(RunEnded, self.round, t_start=self.clock, t_end=self.clock, value=value,
                     correct=None if value is None else d.value == self.truth, detail=reason)
        return RoundSummary(self.round, value, None if value is None else d.value == self.truth,
                            self._agreement(), True, reason, self.clock)
