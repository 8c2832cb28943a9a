"""The engine: ``Run`` — one run of a team, stepped with ``await run.step()``.

Shaped like SimPy's core: ``run()`` is nothing but a loop over ``step()``, so the
notebook controller, the CLI and the tests all drive the same code. What one step is
depends on the team's execution model, a policy over the same parts:

* synchronous (the default): one round with a barrier (``runtime.synchronous``);
* asynchronous / partially synchronous: one reporting slice of a discrete-event
  simulation (``runtime.asynchronous``); ``advance(k)`` processes single happenings.

The engine owns the lifecycle (shared with replays, ``runtime.lifecycle``), the clock,
the budgets, the network, dispatch and the log; what the team works on is the
workload's (``llmteams_lab.workloads``, chosen by the spec's task kind), and faults are
the injector's (``runtime.faults``), whose hooks run in both models.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from llmteams_lab.backends.base import RoundPreview
from llmteams_lab.errors import EndpointUnreachableError, LifecycleError
from llmteams_lab.events import RunEnded, RunStarted
from llmteams_lab.messages import Question
from llmteams_lab.rounds import RoundReplySlots
from llmteams_lab.runtime.asynchronous import Happenings
from llmteams_lab.runtime.dispatch import connection_lost, preview_round, resolve_backends, worst_case_round
from llmteams_lab.runtime.faults import FaultInjector, make_injector
from llmteams_lab.runtime.lifecycle import Lifecycle, RoundSummary
from llmteams_lab.runtime.links import Links
from llmteams_lab.runtime.log import EventLog, LogMode
from llmteams_lab.runtime.network import Network, team_arcs
from llmteams_lab.runtime.result import RunResult
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.runtime.synchronous import Rounds
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.workloads import Workload, workload_for

__all__ = ["RoundSummary", "Run"]


class Run(Lifecycle):
    """One run of a team. Use ``async with Run(spec) as run`` or call ``aclose()``.

    backends  ``None`` (build from the spec), one backend for all agents, or a mapping
              from agent id or backend name to a backend instance
    sinks     extra event sinks (every event is also kept in ``run.events``)
    pause_gc  pause the cyclic garbage collector while a round runs (opt-in, for
              benchmarks and processes you own: see ``runtime.collector``)
    """

    can_inject = True

    def __init__(self, spec: TeamSpec, *, backends: Any = None, sinks: Sequence[Sink] = (),
                 run_id: str | None = None, pause_gc: bool = False):
        super().__init__(pause_gc=pause_gc)
        self.spec = spec
        self.kind = workload_for(spec.task.kind)
        self.groups = resolve_backends(spec, self.kind, backends)
        self.mode = LogMode.for_run(spec, (g.batched for g in self.groups))
        self.log = EventLog(run_id or f"{spec.name}-{spec.fingerprint()}", sinks, spec.ids)
        self.workload: Workload = self.kind.build(spec, self.log, self.mode)
        self.network = Network(spec.ids, team_arcs(spec), len(self.workload.options), self.mode)
        self.links = self.network.links = Links(spec, self.network)
        self.alive = np.ones(len(spec.agents), dtype=bool)
        self.faults = make_injector(spec, self.log, self.workload, self.kind, self.network, self.groups,
                                    self.alive, self.mode)
        self.tokens_used = 0
        self._max_round_tokens = 0
        self.execution = Rounds(self) if spec.execution == "synchronous" else Happenings(self)

    # --- public API -------------------------------------------------------------------
    @classmethod
    async def resume(cls, path: Any, *, spec: TeamSpec | None = None, backends: Any = None,
                     sinks: Sequence[Sink] = ()) -> "Run":
        """Continue the run whose JSONL log is at ``path`` from its last finished round,
        appending to that log (``runtime.resume``: the result equals an uninterrupted
        run's log). ``spec`` is checked against the log's; ``sinks`` get the whole log."""
        from llmteams_lab.runtime.resume import resume_run

        return await resume_run(cls, path, spec=spec, backends=backends, sinks=sinks)

    @property
    def question(self) -> Question | None:
        """The deliberation question (``None`` for workloads without one)."""
        return self.workload.question

    def state(self) -> dict:
        """A JSON-able snapshot of every agent's current state (for UIs), with its
        liveness (``alive``) and the ``faults`` acting on it (asynchronous runs add
        ``busy``, ``mailbox``, ``turns`` and the detector's ``suspects``)."""
        return self.execution.annotate(self.faults.annotate(self.workload.state()))

    async def advance(self, happenings: int = 1) -> RoundSummary:
        """Asynchronous runs: process the next ``happenings`` happenings (an arrival, a
        turn, a reply, a timer) instead of a whole reporting slice; the slice is closed
        when its end is reached. Synchronous runs have no smaller step than a round."""
        if not isinstance(self.execution, Happenings):
            raise LifecycleError("advance() steps an asynchronous run; a synchronous run steps whole rounds "
                                 "(await run.step())")
        self._check_can_step()
        self._stepping = True
        try:
            self._started()
            return await self.execution.step(happenings)
        except BaseException as err:
            if self.status != "closed":
                self._failed(err)
            raise
        finally:
            self._stepping = False
            self.log.flush()

    def inject(self, fault: FaultSpec | dict) -> FaultSpec:
        """Inject ``fault`` live: it acts from the next round on, exactly as if it had been
        scheduled in the spec from that round (see ``runtime.faults.spec_from_events``).

        Validated against the team first: an invalid fault raises the same
        :class:`SpecError` the spec would and leaves the run unchanged. Returns the fault
        with its effective schedule.
        """
        if self.done:
            self._check_can_step()
        if not isinstance(self.faults, FaultInjector):  # the first fault of a fault-free run
            injector = FaultInjector(self.spec, self.log, self.workload, self.kind, self.network, self.groups,
                                     self.alive, self.mode)
            fault = injector.inject(fault, self.round + 1)
            self.faults = injector
        else:
            fault = self.faults.inject(fault, self.round + 1)
        self.execution.injected(fault.kind)
        return fault

    def result(self) -> RunResult:
        """The run so far as a :class:`RunResult` (events, decision, reason)."""
        value, correct = self.workload.outcome()
        return RunResult(self.spec, self.run_id, self.log.snapshot(), self.end_reason, value, correct,
                         self.round)

    def __repr__(self) -> str:
        return f"<Run {self.run_id} {self.status} round={self.round} agents={len(self.spec.agents)}>"

    # --- the lifecycle's hooks ------------------------------------------------------------
    def _failed(self, err: BaseException) -> None:
        super()._failed(err)
        self.log.add(RunEnded, self.round, t_start=self.clock, t_end=self.clock, detail=self.end_reason)

    def _closing(self) -> None:
        super()._closing()
        self.log.add(RunEnded, self.round, t_start=self.clock, t_end=self.clock, detail="closed")

    async def _release(self) -> None:
        for group in self.groups:
            await group.backend.aclose()

    # --- a step -------------------------------------------------------------------------
    async def _step(self) -> RoundSummary:
        self._started()
        return await self.execution.step()

    def _started(self) -> None:
        if self.status == "ready":
            self.status = "running"
            self.log.add(RunStarted, 0, detail=self.spec.to_json(), value=self.spec.name)

    # --- shared by the execution models --------------------------------------------------
    def count_usage(self, acting: np.ndarray, slots: RoundReplySlots) -> None:
        """Add the tokens ``acting`` agents used (budgets; the bound for unbounded backends)."""
        if acting.size == 1:  # one agent's turn (asynchronous runs): two scalars
            i = int(acting[0])
            used = int(slots.tokens_in[i]) + int(slots.tokens_out[i])
        elif acting.size == slots.tokens_in.size:  # everyone: no gathers
            used = int(slots.tokens_in.sum() + slots.tokens_out.sum())
        else:
            used = int(slots.tokens_in[acting].sum() + slots.tokens_out[acting].sum())
        self.tokens_used += used
        self._max_round_tokens = max(self._max_round_tokens, used)

    def close_round(self, r: int, t0: float, t_end: float) -> RoundSummary:
        """``RoundEnded`` of round (or slice) ``r``, ending the run if the workload is done
        or the round budget is spent."""
        self.clock = t_end
        value, correct = self.workload.outcome()
        decision = self.workload.decision
        self.log.row("RoundEnded", r, t_start=t0, t_end=t_end, value=value, correct=correct,
                     detail=decision.reason or None)
        if decision.done:
            self.end(decision.reason)
        elif r >= self.spec.budgets.max_rounds:
            self.end("max_rounds")
        return RoundSummary(r, value, correct, self.workload.agreement(self.alive), self.status == "finished",
                            self.end_reason or "", self.clock)

    def worst_case_round(self, agents: np.ndarray | None = None,
                         preview: RoundPreview | None = None) -> tuple[int, float, bool]:
        """The most tokens and dollars the next round (or the next turn of ``agents``)
        can spend, and whether that is a bound: ``(tokens, dollars, bounded)``. Backends
        that can bound a round say so (``Backend.worst_case_round``, e.g. the openai
        backend's token cap and prompt bound); for the others the most any earlier round
        used is added (0 before the first round), and ``bounded`` is false. ``preview``:
        the turn's requests with the inboxes the agents will read, when the execution
        model knows them (an asynchronous turn reads its mailbox, not the rounds'
        network); by default the next synchronous round's."""
        who = self.faults.may_act()  # the alive, and the down who come back (crash_recover)
        if agents is not None:
            mask = np.zeros_like(who)
            mask[agents] = who[agents]
            who = mask
        r = self.round + 1
        if preview is None:
            preview = preview_round(self.network, self.workload, r)  # each agent's next prompt, inbox included
        tokens, cost, unbounded = worst_case_round(self.groups, who, r, preview)
        if unbounded:
            tokens += self._max_round_tokens
        return tokens, cost, not unbounded

    def budget_stop(self, agents: np.ndarray | None = None, preview: RoundPreview | None = None,
                    in_flight: tuple[int, float] = (0, 0.0)) -> str | None:
        """The reason the next round (or ``agents``' next turn, in an asynchronous run,
        with its ``preview``) cannot start, or ``None`` (budgets are checked against
        :meth:`worst_case_round`). ``in_flight``: the worst case of calls already
        started and not yet counted (tokens, dollars) — an asynchronous team in real
        time has turns in flight while another starts."""
        b = self.spec.budgets
        if agents is None and self.round >= b.max_rounds:
            return "max_rounds"
        worst_tokens, worst_cost = in_flight
        if b.max_tokens is not None or b.max_cost_usd is not None:
            tokens, cost, _ = self.worst_case_round(agents, preview)
            worst_tokens, worst_cost = worst_tokens + tokens, worst_cost + cost
        if b.max_tokens is not None and self.tokens_used + worst_tokens > b.max_tokens:
            return "budget_tokens"
        if b.max_cost_usd is not None and self.workload.cost_used + worst_cost > b.max_cost_usd:
            return "budget_cost"
        if b.max_wall_s is not None and self.clock >= b.max_wall_s:
            return "budget_wall"
        return None

    def seconds_left(self, t0: float) -> float | None:
        """Seconds of the wall-time budget left when a round (or a turn) starts at ``t0``."""
        wall = self.spec.budgets.max_wall_s
        return None if wall is None else wall - t0

    def check_reachable(self, r: int, acting: np.ndarray, slots: RoundReplySlots) -> None:
        """Every call of the round failed to connect: the endpoint is down or misnamed, so
        stop now with a clear error (the round's ``AgentFailed`` events are kept)."""
        lost = connection_lost(slots, acting)
        if lost:
            raise EndpointUnreachableError(f"round {r}: every call failed to connect ({len(lost)} of {acting.size}): "
                                           f"{lost[0]}; the run stopped, its events are kept")

    def end(self, reason: str) -> RoundSummary:
        """Finish the run for ``reason`` (``RunEnded``)."""
        self.status = "finished"
        self.end_reason = reason
        value, correct = self.workload.outcome()
        self.log.add(RunEnded, self.round, t_start=self.clock, t_end=self.clock, value=value, correct=correct,
                     detail=reason)
        return RoundSummary(self.round, value, correct, self.workload.agreement(self.alive), True, reason,
                            self.clock)
