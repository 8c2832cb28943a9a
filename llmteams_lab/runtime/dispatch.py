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
* ``worst_case_round(...)`` — the most a round can cost, for the budget check (a
  backend that cannot say makes the engine add its own estimate).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from llmteams_lab.backends.base import Backend, RoundBatch, as_backend
from llmteams_lab.errors import BackendError, SpecError
from llmteams_lab.events import AgentRetried, on_time_grid
from llmteams_lab.messages import AgentRequest
from llmteams_lab.rounds import RoundReplySlots
from llmteams_lab.runtime.log import EventLog
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads import WorkloadKind

__all__ = ["BackendGroup", "gather_round", "log_backend_retries", "resolve_backends", "worst_case_round"]


@dataclass
class BackendGroup:
    backend: Backend
    agents: np.ndarray  # agent indices, sorted

    @property
    def batched(self) -> bool:
        return self.backend.batched


def resolve_backends(spec: TeamSpec, workload: WorkloadKind, given: Any = None) -> list[BackendGroup]:
    """Map every agent to a backend instance.

    ``given`` may be ``None`` (build from each agent's ``backend`` field), one backend
    for every agent, or a mapping from agent id or backend name to an instance.
    """
    built: dict[str, Any] = {}
    by_instance: dict[int, tuple[Any, list[int]]] = {}
    for i, agent in enumerate(spec.agents):
        backend = _pick(spec, workload, agent.id, agent.backend, given, built)
        by_instance.setdefault(id(backend), (backend, []))[1].append(i)
    groups = []
    for backend, idx in by_instance.values():
        agents = np.array(idx, dtype=np.int64)
        agents.flags.writeable = False  # handed to backends as ``batch.acting`` when everyone acts
        groups.append(BackendGroup(as_backend(backend), agents))
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
                       options: Sequence[str]) -> None:
    """Collect every acting agent's reply into ``slots`` (failures kept, not raised).

    Batched groups answer first, in one call each; then the per-agent calls run with at
    most ``bound`` in flight (see ``_answer_each``). ``options``: the answers an agent
    can give, to store a reply's answer as its option index."""
    everyone = acting.size == slots.answer.size  # acting is sorted and distinct
    if not everyone:
        acting_mask = np.zeros(slots.answer.size, dtype=bool)
        acting_mask[acting] = True
    jobs: list[tuple[Backend, int]] = []
    for group in groups:
        idx = group.agents if everyone else group.agents[acting_mask[group.agents]]
        if idx.size == 0:
            continue
        if group.batched:
            batch.acting = idx
            slots.put_batch(idx, group.backend.respond_round(batch))
        else:
            jobs += [(group.backend, i) for i in idx.tolist()]
    if jobs:
        await _answer_each(jobs, requests, {o: j for j, o in enumerate(options)}, slots, bound)


async def _answer_each(jobs: list[tuple[Backend, int]], requests: Callable[[int], AgentRequest],
                       index: dict[str, int], slots: RoundReplySlots, bound: int) -> None:
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

    async def work() -> None:
        while queue:
            backend, i = queue.popleft()
            request = requests(i)
            started = time.perf_counter()
            try:
                reply = await backend.respond(request)
            except BackendError as err:
                slots.put_failure(i, err, time.perf_counter() - started)
                continue
            slots.put_reply(i, reply, index.get(reply.answer, -1) if reply.answer is not None else -1)

    loop = asyncio.get_running_loop()
    workers = [loop.create_task(work())]
    try:
        await asyncio.sleep(0)  # the first worker runs until it waits on a reply (or is done)
    except BaseException:
        workers[0].cancel()
        raise
    workers += [loop.create_task(work()) for _ in range(min(bound - 1, len(queue)))]
    await asyncio.gather(*workers)


def log_backend_retries(log: EventLog, groups: Sequence[BackendGroup], ids: Sequence[str], round: int,
                        t0: float) -> None:
    """``AgentRetried`` for every attempt a backend retried this round (agent order)."""
    attempts = [a for group in groups for a in group.backend.take_retries()]
    if not attempts:
        return
    index = {name: i for i, name in enumerate(ids)}
    attempts.sort(key=lambda a: (index.get(a.agent, len(index)), a.attempt))
    for a in attempts:
        log.add(AgentRetried, round, a.agent, t_start=on_time_grid(t0 + a.start_s),
                t_end=on_time_grid(t0 + a.start_s + a.took_s), fault=getattr(a.error, "kind", "error"),
                detail=json.dumps({"attempt": a.attempt, "backoff_s": round_s(a.wait_s), "error": str(a.error)}))


def round_s(seconds: float) -> float:
    return float(f"{seconds:.6g}")


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
