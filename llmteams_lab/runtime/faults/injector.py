"""The one fault injector: applies every fault of a run and records it as events.

The engine calls it at four points of a round and it touches only generic things —
the alive mask, latencies, backend calls, the replies' slots and the network's router:

``begin_round``    ``FaultApplied`` when a fault's window opens (value ``"start"``) or
                   closes (``"end"``: a recovery, a healed partition); crashed agents
                   leave the alive mask (one ``AgentFailed`` each, fault ``crash``) and
                   the network drops what they are sent (``MessageDropped``, same fault);
                   the round's message plan is handed to the network as its router
``after_replies``  backend failures and retries (``AgentRetried``) in agent order,
                   stragglers' latencies stretched, faulty agents' answers overridden
                   (by the workload's answer faults, e.g. :mod:`workloads.deliberation.faults`)
                   and marked in ``slots.marks`` (the ``fault`` column of their replies);
``after_apply``    the failure policy runs (abstain withdraws votes, stop fails the run)
``round_end``      a synchronous round waits for its slowest in-flight message

Live injection (``Run.inject``) validates the fault against the team exactly as the
spec would, fixes its start at the next round and adds it to the same list; since
``FaultApplied`` events are emitted in a canonical order and every fault draws from a
stream keyed by its content, a run with live faults and the run of
:func:`spec_from_events` (the spec with those faults scheduled) log the same events.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np

from llmteams_lab.errors import CallCancelledError, DatasetError, RunFailedError, SpecError
from llmteams_lab.events import AgentFailed, AgentRetried, FaultApplied, on_time_grid
from llmteams_lab.rounds import Inbox, RoundReplySlots, on_grid
from llmteams_lab.runtime.faults.arcs import ArcTable
from llmteams_lab.runtime.faults.backend import Attempts, wrap_backend
from llmteams_lab.runtime.faults.network import MessagePlan, plan_messages
from llmteams_lab.runtime.faults.schedule import ScheduledFault, canonical_json
from llmteams_lab.runtime.log import EventLog, LogMode
from llmteams_lab.runtime.network import Network
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import (
    ANSWER_KINDS,
    BACKEND_KINDS,
    DOWN_KINDS,
    MESSAGE_KINDS,
    NETWORK_KINDS,
    FaultSpec,
    check_lie,
)
from llmteams_lab.workloads import AnswerFaults, Workload, WorkloadKind

__all__ = ["FaultInjector", "NoFaults", "make_injector", "spec_from_events"]

_ADOPT = 0xAD07  # the stream of prompt-injection adoption draws


class FaultInjector:
    """Applies ``spec.faults`` (and live injections) to one run; see the module doc."""

    active = True

    def __init__(self, spec: TeamSpec, log: EventLog, workload: Workload, kind: WorkloadKind, network: Network,
                 groups: list, alive: np.ndarray, mode: LogMode):
        self.spec = spec  # grows with live injections: the run as a scheduled spec
        self.log, self.work, self.network, self.groups, self.alive = log, workload, network, groups, alive
        self.mode, self.kind = mode, kind
        self.ids, self.n, self.seed = spec.ids, len(spec.ids), spec.seed
        self.faults: list[ScheduledFault] = []
        self.attempts = Attempts(spec.failure_policy)
        self.behaviour = self._behaviour()
        self._arcs = ArcTable(self.n, network.src, network.dst)  # O(edges), never (n, n)
        self._crashed = np.zeros(self.n, dtype=bool)
        self._down = np.zeros(self.n, dtype=bool)
        self._round = 0
        self._plan: MessagePlan | None = None
        for i, fault in enumerate(spec.faults):
            self._check_runnable(fault, f"faults[{i}]")
            self._add(fault)
        if spec.failure_policy.on_error == "retry" or any(f.kind in BACKEND_KINDS for f in spec.faults):
            self._wrap_backends()

    # --- adding faults -------------------------------------------------------------
    def inject(self, fault: FaultSpec | dict, next_round: int) -> FaultSpec:
        """Add ``fault`` from ``next_round`` on; invalid faults change nothing and raise."""
        path = f"faults[{len(self.spec.faults)}]"
        if isinstance(fault, dict):
            fault = FaultSpec.from_dict(fault, path)
        if not isinstance(fault, FaultSpec):
            raise SpecError(path, "must be a FaultSpec or a table", fault)
        try:
            fault = fault.scheduled_from(next_round)
        except SpecError as err:
            raise SpecError(f"{path}.{err.path}", err.expected, err.got) from None
        grown = self.spec.replace(faults=self.spec.faults + (fault,))  # the spec's own checks
        self._check_runnable(fault, path)
        self.spec = grown
        self._add(fault)
        if fault.kind in BACKEND_KINDS:
            self._wrap_backends()
        return fault

    def _check_runnable(self, fault: FaultSpec, path: str) -> None:
        """Checks only a running team can make (its question, its logging mode)."""
        if fault.kind in ANSWER_KINDS and self.behaviour is None:
            raise SpecError(f"{path}.kind", "needs a deliberation task (agents answering a question)",
                            fault.kind)
        if fault.kind in MESSAGE_KINDS and not self.mode.per_message:
            raise SpecError(f"{path}.kind", "acts on single messages; inject it into a run with "
                                            "logging = 'messages' (or schedule it in the spec)", fault.kind)
        if self.behaviour is not None:
            check_lie(fault, self.behaviour.options, path)

    def _add(self, fault: FaultSpec) -> None:
        same = sum(1 for f in self.faults if f.spec == fault)
        self.faults.append(ScheduledFault(fault, self.ids, same))

    def _behaviour(self) -> AnswerFaults | None:
        """The workload's answer faults, if its agents give answers a fault can change."""
        if self.kind.answer_faults is None:
            return None
        simulated = np.zeros(self.n, dtype=bool)
        for group in self.groups:
            simulated[group.agents] = group.backend.simulated
        return self.kind.answer_faults(self.work, [a.susceptibility for a in self.spec.agents], simulated)

    def _wrap_backends(self) -> None:
        index = {name: i for i, name in enumerate(self.ids)}
        for group in self.groups:
            group.backend = wrap_backend(group.backend, self.attempts, index)

    # --- the round ----------------------------------------------------------------
    def begin_round(self, r: int, t0: float) -> None:
        """Open/close fault windows, crash agents, plan the round's messages."""
        self._round = r
        self.attempts.reset(self._backend_plan(r) if self.faults else {})
        if not self.faults:
            return
        self._log_windows(r, t0)
        self._update_alive(r, t0)
        message_faults = [f for f in self.faults if f.kind in MESSAGE_KINDS]
        self._plan = None
        if message_faults and self.behaviour is not None:
            self._plan = plan_messages(message_faults, r, self.seed, self._arcs, self.behaviour.options,
                                       self.behaviour.payload)
        elif message_faults:
            self._plan = plan_messages(message_faults, r, self.seed, self._arcs, (), lambda f: "")
        self.network.router = self._route if self._plan is not None and self._plan.fates else None

    def _log_windows(self, r: int, t0: float) -> None:
        changes = [(phase, f) for f in self.faults for phase in ("end", "start")
                   if (phase == "start" and f.first == r) or (phase == "end" and f.last is not None
                                                               and f.last + 1 == r)]
        for phase, f in sorted(changes, key=lambda c: (c[0], c[1].json)):
            spec = f.spec
            agent, peer = (spec.link if spec.link else (spec.agent, None))
            self.log.add(FaultApplied, r, agent, peer, t_start=t0, t_end=t0, value=phase, fault=spec.kind,
                         detail=f.json)

    def _update_alive(self, r: int, t0: float) -> None:
        down = np.zeros(self.n, dtype=bool)
        reason: dict[int, str] = {}
        crash, recover = DOWN_KINDS
        for f in self.faults:
            if f.kind == crash:
                self._crashed |= f.agents_hit(self.seed, r)
            elif f.kind == recover and f.in_window(r):
                down |= f.targets
                reason.update({i: recover for i in np.flatnonzero(f.targets).tolist()})
        reason.update({i: crash for i in np.flatnonzero(self._crashed).tolist()})
        down |= self._crashed
        self._down = down
        self.alive[:] = ~down
        self.network.down = {i: reason[i] for i in np.flatnonzero(down).tolist()}  # drops what they are sent
        for i in np.flatnonzero(down).tolist():
            self.log.add(AgentFailed, r, self.ids[i], t_start=t0, t_end=t0, fault=reason[i],
                         detail="down: the agent does not act this round")

    def _backend_plan(self, r: int) -> dict[int, list[FaultSpec | None]]:
        """Agent -> the fault (or None) each attempt of this round meets; canonical order."""
        attempts = self.attempts.policy.attempts
        table: dict[int, list[FaultSpec | None]] = {}
        for f in sorted((f for f in self.faults if f.kind in BACKEND_KINDS), key=lambda f: f.json):
            if not f.in_window(r):
                continue
            hit = np.repeat(f.targets[:, None], attempts, axis=1)
            if f.spec.probability is not None:
                hit &= f.rng(self.seed, r).random((self.n, attempts)) < f.spec.probability
            for i, a in np.argwhere(hit).tolist():
                row = table.setdefault(i, [None] * attempts)
                row[a] = row[a] or f.spec
        return table

    def _route(self, round: int, s: int, r: int):
        return self._plan.fates.get((s, r)) if self._plan is not None else None

    def after_replies(self, r: int, t0: float, acting: np.ndarray, inbox: Inbox, slots: RoundReplySlots) -> None:
        """Backend failures, retries, stragglers and faulty answers, before the replies are recorded."""
        if not self.faults and self.attempts.policy.on_error != "retry":
            return
        self._settle_attempts(r, t0, slots)
        hits = self._agent_hits(r, acting)
        for f, hit in hits.get("straggler", ()):
            idx = np.flatnonzero(hit)
            slots.latency[idx] = on_grid(slots.latency[idx] * (f.spec.factor or 1.0) + (f.spec.extra_s or 0.0))
        if self.behaviour is not None:
            replied = acting[slots.replied[acting]]
            adopt = np.random.default_rng([self.seed, _ADOPT, r]).random(self.n)
            slots.marks.update(self.behaviour.apply(r, hits, replied, inbox, slots, adopt))
        for f, hit in hits.get("straggler", ()):
            for i in np.flatnonzero(hit & slots.replied).tolist():
                slots.marks.setdefault(i, "straggler")

    def _agent_hits(self, r: int, acting: np.ndarray) -> dict[str, list[tuple[ScheduledFault, np.ndarray]]]:
        mask = np.zeros(self.n, dtype=bool)
        mask[acting] = True
        hits: dict[str, list] = {}
        for f in self.faults:
            if f.kind in ("straggler",) + ANSWER_KINDS:
                hits.setdefault(f.kind, []).append((f, f.agents_hit(self.seed, r) & mask))
        return hits

    def _settle_attempts(self, r: int, t0: float, slots: RoundReplySlots) -> None:
        book = self.attempts
        for i, err in book.failed.items():
            slots.replied[i] = False
            slots.failures[i] = err
            slots.latency[i] = on_time_grid(float(err.latency_s or 0.0))
            slots.tokens_in[i] = slots.tokens_out[i] = 0
        for i, waited in book.waited.items():
            slots.latency[i] = on_time_grid(slots.latency[i] + waited)
        for i in sorted(book.retries):
            for attempt, start, took, wait, err in book.retries[i]:
                self.log.add(AgentRetried, r, self.ids[i], t_start=on_time_grid(t0 + start),
                             t_end=on_time_grid(t0 + start + took),
                             fault=getattr(err, "kind", "error"),
                             detail=json.dumps({"attempt": attempt, "backoff_s": wait, "error": str(err)}))

    def after_apply(self, r: int, acting: np.ndarray, slots: RoundReplySlots) -> None:
        """Apply the failure policy to failed agents (faulty replies were marked through
        ``slots.marks`` before the workload recorded them); calls the run cancelled (the
        wall-time deadline, a stopping run) are not failures of the agent."""
        failed = [i for i in acting.tolist() if i in slots.failures and not isinstance(slots.failures[i],
                                                                                      CallCancelledError)]
        final = self.attempts.policy.final
        if not failed or final == "skip":
            return
        if final == "abstain" and self.behaviour is not None:
            self.behaviour.abstain(failed)
        elif final == "stop":
            who = ", ".join(f"{self.ids[i]} ({getattr(slots.failures[i], 'kind', 'error')})" for i in failed)
            err = RunFailedError(f"round {r}: {who} failed and the failure policy is 'stop'; "
                                 "the events so far are kept in run.events")
            err.end_reason = "failure_policy_stop"
            raise err

    def round_end(self, senders: np.ndarray, t_sent: np.ndarray, t_end: float) -> float:
        return self._plan.round_end(senders, t_sent, t_end) if self._plan is not None else t_end

    def may_act(self) -> np.ndarray:
        """Agents that may act in a later round: all but the crash-stopped (an agent down
        for a crash_recover window comes back) — whom a budget's worst case must count."""
        return ~self._crashed

    def extra_seconds(self, s: int, r: int) -> float:
        """Seconds a ``delay`` fault adds to a message from ``s`` to ``r`` in this round
        (asynchronous runs add them to its time in flight)."""
        return self._plan.seconds.get((s, r), 0.0) if self._plan is not None else 0.0

    def annotate(self, state: dict[str, dict]) -> dict[str, dict]:
        """Add each agent's liveness and the faults acting on it to a UI state snapshot."""
        r = max(self._round, 1)
        for i, aid in enumerate(self.ids):
            kinds = sorted({f.kind for f in self.faults if f.in_window(r) and f.targets[i]
                            and f.kind not in NETWORK_KINDS + (DOWN_KINDS[0],)} |
                           ({"crash"} if self._crashed[i] else set()))
            state.setdefault(aid, {}).update(alive=bool(not self._down[i]), faults=kinds)
        return state


def spec_from_events(events: Any) -> TeamSpec:
    """The spec of a logged run with its live-injected faults folded in as scheduled ones.

    ``events`` may be typed events, dict rows or a polars frame. Running the result
    (with the same ``run_id``) logs the same events as the original, apart from the
    spec recorded in ``RunStarted``.
    """
    rows = events.iter_rows(named=True) if hasattr(events, "iter_rows") else events
    spec, started = None, []
    for row in rows:
        row = row if isinstance(row, dict) else row.as_dict()
        if row["kind"] == "RunStarted" and spec is None:
            spec = TeamSpec.from_json(row["detail"])
        elif row["kind"] == "FaultApplied" and row["value"] == "start":
            started.append(row["detail"])
    if spec is None:
        raise DatasetError("events must include the run's RunStarted event (it holds the spec)")
    scheduled = Counter(canonical_json(f) for f in spec.faults)
    live = []
    for text in started:
        if scheduled[text] > 0:
            scheduled[text] -= 1
        else:
            live.append(FaultSpec.from_dict(json.loads(text)))
    return spec.replace(faults=spec.faults + tuple(live)) if live else spec


class NoFaults:
    """The injector of a run with no faults and the ``skip`` failure policy: every hook
    does nothing, so the engine calls the same hooks whatever the run (a live injection
    replaces it by a :class:`FaultInjector`)."""

    active = False

    def __init__(self, n: int):
        self._alive = [True] * n

    def begin_round(self, r: int, t0: float) -> None:
        return None

    def after_replies(self, r: int, t0: float, acting: np.ndarray, inbox: Inbox, slots: RoundReplySlots) -> None:
        return None

    def after_apply(self, r: int, acting: np.ndarray, slots: RoundReplySlots) -> None:
        return None

    def round_end(self, senders: np.ndarray, t_sent: np.ndarray, t_end: float) -> float:
        return t_end

    def may_act(self) -> np.ndarray:
        return np.ones(len(self._alive), dtype=bool)

    def extra_seconds(self, s: int, r: int) -> float:
        return 0.0

    def annotate(self, state: dict[str, dict]) -> dict[str, dict]:
        for aid in state:
            state[aid].update(alive=True, faults=[])
        return state


def make_injector(spec: TeamSpec, log: EventLog, workload: Workload, kind: WorkloadKind, network: Network,
                  groups: list, alive: np.ndarray, mode: LogMode) -> FaultInjector | NoFaults:
    """The run's injector: :class:`NoFaults` when there is nothing to inject or decide."""
    if not spec.faults and spec.failure_policy.on_error == "skip":
        return NoFaults(len(spec.agents))
    return FaultInjector(spec, log, workload, kind, network, groups, alive, mode)
