"""Which backend answers for which agent, and gathering one round's replies.

Agents are grouped by backend instance. A group whose backend has ``respond_round``
is answered in one batched call; other groups get one ``respond`` call per agent,
run concurrently under the run's concurrency bound. Whatever order replies complete
in, they are stored by agent index, so they are applied in agent order.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.errors import BackendError, SpecError
from llmteams_lab.events import TICKS_PER_SECOND, on_time_grid
from llmteams_lab.messages import AgentReply
from llmteams_lab.spec import TeamSpec

__all__ = ["BackendGroup", "RoundReplySlots", "on_grid", "resolve_backends"]


def on_grid(seconds: np.ndarray) -> np.ndarray:
    """Latencies on the run clock's grid of whole microseconds (a new float64 array).

    The one place the engine takes times from backends, so nothing a CPU-dependent
    float computation left in a latency's last bits reaches an event (see ``events``)."""
    grid = np.multiply(seconds, TICKS_PER_SECOND, dtype=np.float64)
    np.rint(grid, out=grid)
    grid /= TICKS_PER_SECOND
    return grid


@dataclass
class BackendGroup:
    backend: Any
    agents: np.ndarray  # agent indices, sorted
    batched: bool


def resolve_backends(spec: TeamSpec, given: Any = None) -> list[BackendGroup]:
    """Map every agent to a backend instance.

    ``given`` may be ``None`` (build from each agent's ``backend`` field), one backend
    for every agent, or a mapping from agent id or backend name to an instance.
    """
    built: dict[str, Any] = {}
    by_instance: dict[int, tuple[Any, list[int]]] = {}
    for i, agent in enumerate(spec.agents):
        backend = _pick(spec, agent.id, agent.backend, given, built)
        by_instance.setdefault(id(backend), (backend, []))[1].append(i)
    groups = []
    for backend, idx in by_instance.values():
        agents = np.array(idx, dtype=np.int64)
        agents.flags.writeable = False  # handed to backends as ``batch.acting`` when everyone acts
        groups.append(BackendGroup(backend, agents, hasattr(backend, "respond_round")))
    return groups


def _pick(spec: TeamSpec, agent_id: str, name: str, given: Any, built: dict[str, Any]) -> Any:
    if given is not None and not isinstance(given, Mapping):
        return given
    if isinstance(given, Mapping):
        if agent_id in given:
            return given[agent_id]
        if name in given:
            return given[name]
    if name not in built:
        built[name] = _default_backend(spec, name)
    return built[name]


def _default_backend(spec: TeamSpec, name: str) -> Any:
    if name == "simulated" and spec.task.kind == "work_division":
        from llmteams_lab.backends.workers import SimulatedWorkers

        return SimulatedWorkers(spec)
    if name == "simulated":
        from llmteams_lab.backends.simulated import SimulatedBackend

        return SimulatedBackend(spec)
    if name == "mock":
        from llmteams_lab.backends.mock import MockBackend

        return MockBackend()
    if name == "openai":
        from llmteams_lab.backends.openai import OpenAIBackend  # lazy: imports the SDK

        return OpenAIBackend(spec)
    raise SpecError("agents[].backend", f"needs an instance passed to Run(backends=...) for {name!r}",
                    name, show_got=False)


class RoundReplySlots:
    """One round's replies by agent index (columns), plus failures and raw replies."""

    def __init__(self, n: int):
        self.answer = np.full(n, -1, dtype=np.int64)
        self.confidence = np.zeros(n, dtype=np.int64)
        self.latency = np.zeros(n, dtype=np.float64)
        self.tokens_in = np.zeros(n, dtype=np.int64)
        self.tokens_out = np.zeros(n, dtype=np.int64)
        self.replied = np.zeros(n, dtype=bool)
        self.replies: dict[int, AgentReply] = {}
        self.failures: dict[int, BaseException] = {}

    def put_batch(self, idx: np.ndarray, out) -> None:
        if idx.size == self.answer.size:  # one batched call answered everyone: adopt its columns
            as_int = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731  (no copy when already int64)
            self.answer, self.confidence, self.tokens_in, self.tokens_out = (
                as_int(out.answer), as_int(out.confidence), as_int(out.tokens_in), as_int(out.tokens_out))
            self.latency = on_grid(out.latency_s)
            self.replied[:] = True
            return
        self.answer[idx] = out.answer
        self.confidence[idx] = out.confidence
        self.latency[idx] = on_grid(out.latency_s)
        self.tokens_in[idx] = out.tokens_in
        self.tokens_out[idx] = out.tokens_out
        self.replied[idx] = True

    def put_failure(self, i: int, err: BackendError, elapsed: float) -> None:
        """A failed call: its virtual duration if the error carries one, else ``elapsed``;
        tokens of a billed but unusable reply still count."""
        self.failures[i] = err
        virtual = getattr(err, "latency_s", None)
        self.latency[i] = on_time_grid(elapsed if virtual is None else virtual)
        self.tokens_in[i] = getattr(err, "tokens_in", 0)
        self.tokens_out[i] = getattr(err, "tokens_out", 0)

    def put_reply(self, i: int, reply: AgentReply, answer_index: int) -> None:
        self.replies[i] = reply
        self.answer[i] = answer_index
        conf = 0.5 if reply.confidence is None else min(1.0, max(0.0, float(reply.confidence)))
        self.confidence[i] = int(round(conf * 1000))
        self.latency[i] = on_time_grid(reply.latency_s)
        self.tokens_in[i] = reply.tokens_in
        self.tokens_out[i] = reply.tokens_out
        self.replied[i] = True


async def gather_round(groups: list[BackendGroup], acting: np.ndarray, batch: RoundBatch,
                       requests: "callable", slots: RoundReplySlots, bound: int) -> None:
    """Collect every acting agent's reply into ``slots`` (failures kept, not raised).

    Batched groups answer first, in one call each; then the per-agent calls run with at
    most ``bound`` in flight (see ``_answer_each``)."""
    everyone = acting.size == slots.answer.size  # acting is sorted and distinct
    if not everyone:
        acting_mask = np.zeros(slots.answer.size, dtype=bool)
        acting_mask[acting] = True
    jobs: list[tuple[Any, int]] = []
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
        await _answer_each(jobs, requests, batch.question, slots, bound)


async def _answer_each(jobs: list[tuple[Any, int]], requests: "callable", question, slots: RoundReplySlots,
                       bound: int) -> None:
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
            slots.put_reply(i, reply, question.index(reply.answer))

    loop = asyncio.get_running_loop()
    workers = [loop.create_task(work())]
    try:
        await asyncio.sleep(0)  # the first worker runs until it waits on a reply (or is done)
    except BaseException:
        workers[0].cancel()
        raise
    workers += [loop.create_task(work()) for _ in range(min(bound - 1, len(queue)))]
    await asyncio.gather(*workers)
