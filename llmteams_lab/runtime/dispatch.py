"""Which backend answers for which agent; gathering a round's replies; what backends report.

Agents are grouped by backend instance. A group whose backend is ``batched`` is answered
in one ``respond_round`` call; other groups get one ``respond`` call per agent, run
concurrently under the run's concurrency bound. Whatever order replies complete in,
they are stored by agent index, so they are applied in agent order.

Backends are built from each agent's ``backend`` field (``simulated``: the workload's
simulated agents; ``mock``; ``openai`` with the workload's codec) or given to the run;
anything given is adopted as a :class:`~llmteams_lab.backends.base.Backend` once, here,
so the engine calls only the methods that protocol declares:

* ``take_retries()`` — attempts a backend retried on its own; logged here as
  ``AgentRetried`` events in agent order, so concurrent calls never change the log;
* ``take_waits()`` — calls that waited for the endpoint's limits (``EndpointSpec.limits``);
  logged as ``CallThrottled`` events, in agent order too. The team's simulated agents keep
  the same limits on the run's clock (:func:`hold_to_limits`: ``backends.limits.VirtualLimits``
  applied to their replies once the run's faults have shaped them — a straggler's call
  holds its slot for its stretched latency, and its wait is not stretched);
* ``worst_case_round(...)`` — the most a round can cost, for the budget check (a
  backend that cannot say makes the engine add its own estimate).

Two things stop calls early, and each call they stop is recorded as a failure of kind
``cancelled`` (:class:`~llmteams_lab.errors.CallCancelledError`), never silently dropped:

* the wall-time budget's deadline: calls still in flight are cancelled at it; replies of
  virtual-time backends (simulated agents, mocks, replays) that would arrive after it
  are cancelled the same way, on the run's clock;
* a failure that stops the run (``BackendError.stops_run``: a refused key, usage above
  the call's bound): no further call of the round is started.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend, RoundBatch, RoundPreview, as_backend
from llmteams_lab.backends.limits import CallThrottled, VirtualLimits
from llmteams_lab.errors import BackendError, CallCancelledError, ConnectionFailedError, SpecError
from llmteams_lab.events import AgentRetried, on_time_grid
from llmteams_lab.messages import AgentRequest
from llmteams_lab.rounds import RoundReplySlots
from llmteams_lab.runtime.log import EventLog
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.roster import Roster
from llmteams_lab.workloads import WorkloadKind

__all__ = ["BackendGroup", "connection_lost", "gather_round", "hold_to_limits", "log_backend_retries",
           "preview_round", "resolve_backends", "round_stop_reason", "worst_case_round"]


@dataclass
class BackendGroup:
    backend: Backend
    agents: np.ndarray  # agent indices, sorted
    limits: VirtualLimits | None = None  # the endpoint's limits, kept on the run's clock (simulated agents)

    @property
    def batched(self) -> bool:
        return self.backend.batched


def resolve_backends(spec: TeamSpec, workload: WorkloadKind, given: Any = None) -> list[BackendGroup]:
    """Map every agent to a backend instance.

    ``given`` may be ``None`` (build from each agent's ``backend`` field), one backend
    for every agent, or a mapping from agent id or backend name to an instance.
    """
    built: dict[str, Any] = {}
    by_instance: dict[int, tuple[Any, Any]] = {}
    if isinstance(spec.agents, Roster) and not isinstance(given, Mapping):  # one backend for every agent
        backend = _pick(spec, workload, "a0", spec.agents.template.backend, given, built)
        by_instance[id(backend)] = (backend, range(len(spec.agents)))
    for i, agent in enumerate(() if by_instance else spec.agents):
        backend = _pick(spec, workload, agent.id, agent.backend, given, built)
        by_instance.setdefault(id(backend), (backend, []))[1].append(i)
    groups = []
    limits = spec.endpoint.limits if spec.endpoint is not None else None
    shared = VirtualLimits(limits, list(spec.ids)) if limits is not None and limits.any else None
    for backend, idx in by_instance.values():
        agents = np.arange(len(idx), dtype=np.int64) if isinstance(idx, range) else np.array(idx, dtype=np.int64)
        agents.flags.writeable = False  # handed to backends as ``batch.acting`` when everyone acts
        adopted = as_backend(backend)
        groups.append(BackendGroup(adopted, agents, shared if adopted.simulated else None))
    return groups


def _pick(spec: TeamSpec, workload: WorkloadKind, agent_id: str, name: str, given: Any,
          built: dict[str, Any]) -> Any:
    if given is not None and not isinstance(given, Mapping):
        return given
    if isinstance(given, Mapping):
        if agent_id in given:
            return given[agent_id]
        if name in given:
            return given[name]
    if name not in built:
        built[name] = _default_backend(spec, workload, name)
    return built[name]


def _default_backend(spec: TeamSpec, workload: WorkloadKind, name: str) -> Backend:
    if name == "simulated":
        return workload.simulated(spec)
    if name == "mock":
        from llmteams_lab.backends.mock import MockBackend

        return MockBackend()
    if name == "openai":
        from llmteams_lab.backends.openai import OpenAIBackend  # lazy: imports the SDK

        return OpenAIBackend(spec, codec=workload.codec)
    raise SpecError("agents[].backend", f"needs an instance passed to Run(backends=...) for {name!r}",
                    name, show_got=False)


async def gather_round(groups: list[BackendGroup], acting: np.ndarray, batch: RoundBatch,
                       requests: Callable[[int], AgentRequest], slots: RoundReplySlots, bound: int,
                       options: Sequence[str], deadline_s: float | None = None) -> None:
    """Collect every acting agent's reply into ``slots`` (failures kept, not raised).

    Batched groups answer first, in one call each; then the per-agent calls run with at
    most ``bound`` in flight (see ``_answer_each``). ``options``: the answers an agent
    can give, to store a reply's answer as its option index. ``deadline_s``: seconds
    left of the wall-time budget — calls still running then are cancelled (see the
    module docstring)."""
    n = slots.answer.size
    everyone = acting.size == n  # acting is sorted and distinct
    whole = len(groups) == 1 and groups[0].agents.size == n  # one group holds every agent: acting are its own
    if not (everyone or whole):
        acting_mask = np.zeros(n, dtype=bool)
        acting_mask[acting] = True
    jobs: list[tuple[Backend, int]] = []
    for group in groups:
        if everyone or whole:
            idx = group.agents if everyone else acting
        else:
            idx = group.agents[acting_mask[group.agents]]
        if idx.size == 0:
            continue
        if group.batched:
            batch.acting = idx
            slots.put_batch(idx, group.backend.respond_round(batch))
        else:
            jobs += [(group.backend, i) for i in idx.tolist()]
    if jobs:
        await _answer_each(jobs, requests, {o: j for j, o in enumerate(options)}, slots, bound, deadline_s)
    if deadline_s is not None:
        _cancel_late(slots, acting, deadline_s)


def _cancelled(why: str, after_s: float | None = None, stops_run: str | None = None) -> CallCancelledError:
    err = CallCancelledError(why, latency_s=after_s)
    err.stops_run = stops_run
    return err


def _cancel_late(slots: RoundReplySlots, acting: np.ndarray, deadline_s: float) -> None:
    """Replies that would end after the deadline on the run's clock (virtual-time
    backends answer at once in real time) are cancelled at the deadline."""
    cut = on_time_grid(max(deadline_s, 0.0))
    late = acting[slots.latency[acting] > cut]
    for i in late.tolist():
        if not isinstance(slots.failures.get(i), CallCancelledError):
            slots.put_failure(i, _cancelled(f"cancelled at the wall-time budget's deadline, {cut:g} s into the round",
                                            cut, "budget_wall"), cut)
            slots.replied[i] = False
            slots.replies.pop(i, None)


async def _answer_each(jobs: list[tuple[Backend, int]], requests: Callable[[int], AgentRequest],
                       index: dict[str, int], slots: RoundReplySlots, bound: int,
                       deadline_s: float | None = None) -> None:
    """Ask every job's backend for its agent's reply, at most ``bound`` calls at a time,
    starting them in job order; replies and failures land in ``slots`` by agent index.

    Why workers instead of one task per agent: a task costs ~10 µs to create, schedule
    and collect, which is most of a zero-latency round's backend work. Each worker takes
    the next job whenever it is free, so calls start in the same order and under the
    same bound as with a semaphore. Only one worker starts at first; the others are
    started once it has had its turn, and only if jobs are left — so backends that
    answer without waiting (simulated, mock, replay) are served by a single task.
    """
    queue = deque(jobs)
    in_flight: dict[int, float] = {}

    async def work() -> None:
        while queue:
            backend, i = queue.popleft()
            request = requests(i)
            started = in_flight[i] = time.perf_counter()
            try:
                reply = await backend.respond(request)
            except BackendError as err:
                slots.put_failure(i, err, time.perf_counter() - started)
                if err.stops_run is not None:  # no further call: the run stops after this round
                    _cancel_queued(queue, slots, f"not started: the run stops ({err.kind})", err.stops_run)
                continue
            finally:
                in_flight.pop(i, None)
            slots.put_reply(i, reply, index.get(reply.answer, -1) if reply.answer is not None else -1)

    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    workers = [loop.create_task(work())]
    try:
        await asyncio.sleep(0)  # the first worker runs until it waits on a reply (or is done)
        workers += [loop.create_task(work()) for _ in range(min(bound - 1, len(queue)))]
        timeout = None if deadline_s is None else max(0.0, deadline_s - (time.perf_counter() - started))
        _, pending = await asyncio.wait(workers, timeout=timeout)
    except BaseException:
        for worker in workers:
            worker.cancel()
        raise
    if pending:  # the wall-time budget's deadline: cancel what runs, start nothing more
        calls = dict(in_flight)
        for worker in pending:
            worker.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        now = time.perf_counter()
        for i, began in sorted(calls.items()):
            slots.put_failure(i, _cancelled(f"cancelled at the wall-time budget's deadline after {now - began:.3g} s "
                                            "in flight", None, "budget_wall"), now - began)
        _cancel_queued(queue, slots, "not started: the wall-time budget's deadline passed", "budget_wall")
    for worker in workers:
        if worker.done() and not worker.cancelled() and worker.exception() is not None:
            raise worker.exception()  # a bug in a backend, not a BackendError: surface it


def _cancel_queued(queue: deque, slots: RoundReplySlots, why: str, stops_run: str) -> None:
    while queue:
        _, i = queue.popleft()
        slots.put_failure(i, _cancelled(why, 0.0, stops_run), 0.0)


def log_backend_retries(log: EventLog, groups: Sequence[BackendGroup], ids: Sequence[str], round: int,
                        t0: float) -> None:
    """``CallThrottled`` for every call that waited for the endpoint's limits this round,
    then ``AgentRetried`` for every attempt a backend retried (each in agent order)."""
    _log_waits(log, [w for group in groups for w in group.backend.take_waits()], ids, round, t0)
    attempts = [a for group in groups for a in group.backend.take_retries()]
    if not attempts:
        return
    index = {name: i for i, name in enumerate(ids)}
    attempts.sort(key=lambda a: (index.get(a.agent, len(index)), a.attempt))
    for a in attempts:
        log.add(AgentRetried, round, a.agent, t_start=on_time_grid(t0 + a.start_s),
                t_end=on_time_grid(t0 + a.start_s + a.took_s), fault=getattr(a.error, "kind", "error"),
                detail=json.dumps({"attempt": a.attempt, "backoff_s": round_s(a.wait_s), "error": str(a.error)}))


def hold_to_limits(log: EventLog, groups: Sequence[BackendGroup], ids: Sequence[str], round: int,
                   acting: np.ndarray, slots: RoundReplySlots, t0: float) -> None:
    """Simulated agents keep the team endpoint's limits on the run's clock: the replies of
    the acting ones, asked for at ``t0`` in agent order, wait as the limiter says (their
    latencies grow by the wait), and each wait is a ``CallThrottled`` event. Called once
    the run's faults have shaped the replies (see the module docstring)."""
    limits = next((g.limits for g in groups if g.limits is not None), None)
    if limits is None:
        return
    held = np.zeros(len(ids), dtype=bool)
    for group in groups:
        if group.limits is not None:
            held[group.agents] = True
    limits.hold(slots, acting[held[acting]].tolist(), t0)
    _log_waits(log, limits.take_waits(), ids, round, t0)


def _log_waits(log: EventLog, waits: list, ids: Sequence[str], round: int, t0: float) -> None:
    if not waits:
        return
    index = {name: i for i, name in enumerate(ids)}
    waits.sort(key=lambda w: (index.get(w.agent, len(index)), w.start_s))
    for w in waits:
        start = on_time_grid(t0 + w.start_s)
        log.add(CallThrottled, round, w.agent, t_start=start, t_end=on_time_grid(start + w.wait_s),
                value=w.held_by, detail=json.dumps({"tokens": w.tokens}))


def round_s(seconds: float) -> float:
    return float(f"{seconds:.6g}")


def round_stop_reason(failures: Iterable[BaseException | None]) -> str | None:
    """Why the run must stop after these failures (``None``: it goes on): a failure that
    stops runs (a refused key, usage above a call's bound, the wall-time deadline)."""
    reasons = {err.stops_run for err in failures if getattr(err, "stops_run", None)}
    for reason in ("auth_failed", "usage_above_bound", "budget_wall"):
        if reason in reasons:
            return reason
    return min(reasons) if reasons else None


def connection_lost(slots: RoundReplySlots, acting: np.ndarray) -> list[BackendError]:
    """The round's failures when every acting agent's call failed to connect (the
    endpoint is down or misnamed), else ``[]``."""
    if acting.size == 0 or len(slots.failures) < acting.size:
        return []
    failures = [slots.failures.get(i) for i in acting.tolist()]
    return failures if all(isinstance(f, ConnectionFailedError) for f in failures) else []  # type: ignore[return-value]


def preview_round(network: Any, workload: Any, round: int) -> RoundPreview:
    """The next round as the budget check sees it: how many messages each agent will
    read (always), and each agent's request with its real inbox (built on first use —
    only per-agent backends such as the openai one ask for it)."""
    inbox: list = []

    def request_of(i: int) -> AgentRequest:
        if not inbox:
            inbox.append(network.peek_inbox(round))
        return workload.request(round, i, inbox[0])

    return RoundPreview(request_of, network.pending_sizes(round))


def worst_case_round(groups: Sequence[BackendGroup], alive: np.ndarray, round: int,
                     request_of: Callable[[int], AgentRequest]) -> tuple[int, float, bool]:
    """(tokens, dollars, unbounded) for the next round: the sum over backends that can
    bound their live agents, and whether some backend could not (the engine then adds
    its own estimate, the most any earlier round used)."""
    tokens, cost, unbounded = 0, 0.0, False
    for group in groups:
        live = group.agents[alive[group.agents]]
        if live.size == 0:
            continue
        found = group.backend.worst_case_round(round, live, request_of)
        if found is None:
            unbounded = True
            continue
        tokens += found[0]
        cost += found[1]
    return tokens, cost, unbounded
