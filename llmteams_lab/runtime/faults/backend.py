"""Backend faults and the retry policy, at the backend boundary.

Why here: an injected timeout or HTTP 429 must travel the same path as a real one —
the backend raises one of our ``BackendError`` types, the engine records
``AgentFailed`` and the failure policy decides. So the injector wraps each backend:

* per-agent backends (``respond``): each attempt either raises the injected error or
  calls the real backend; a failure (injected or real) is retried per the policy,
  waiting ``backoff_s · 2^(attempt-1)`` (or the server's Retry-After if longer) — on
  the virtual clock when the failure carries a virtual latency, for real otherwise;
* batched backends (``respond_round``): the real call answers the whole round, then
  each agent's attempts are played out from the same plan; agents whose every
  attempt failed are handed to the injector, which turns them into failures.

Retries are collected per agent and logged by the injector in agent order, so
concurrent calls never change the log's order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from llmteams_lab.backends.base import Backend, RoundBatch, RoundReplies
from llmteams_lab.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    CallCancelledError,
    MalformedOutputError,
    RateLimitedError,
    ServerError,
)
from llmteams_lab.spec.faults import FailurePolicySpec, FaultSpec

__all__ = ["Attempts", "FaultyBackend", "injected_error", "wrap_backend"]

_DEFAULT_S = {"timeout": 10.0}


def injected_error(fault: FaultSpec) -> BackendError:
    """The error a backend fault raises, with its virtual duration as ``latency_s``."""
    took = fault.extra_s if fault.extra_s is not None else _DEFAULT_S.get(fault.kind, 0.2)
    if fault.kind == "timeout":
        return BackendTimeoutError(f"injected timeout: no reply within {took:g} s", latency_s=took)
    if fault.kind == "rate_limit":
        return RateLimitedError("injected HTTP 429: too many requests", latency_s=took)
    if fault.kind == "server_error":
        return ServerError("injected HTTP 503: service unavailable", latency_s=took)
    err = MalformedOutputError(f"injected {fault.kind} output: the reply could not be parsed", latency_s=took)
    if fault.kind == "empty":
        err.kind = "empty"
    return err


class Attempts:
    """One round's attempt bookkeeping: the plan, and what happened per agent."""

    def __init__(self, policy: FailurePolicySpec):
        self.policy = policy
        self.plan: dict[int, list[FaultSpec | None]] = {}  # agent -> fault per attempt
        self.retries: dict[int, list[tuple[int, float, float, float, BackendError]]] = {}
        self.failed: dict[int, BackendError] = {}  # batched agents whose attempts all failed
        self.waited: dict[int, float] = {}  # batched agents: seconds spent before success

    def reset(self, plan: dict[int, list[FaultSpec | None]]) -> None:
        self.plan, self.retries, self.failed, self.waited = plan, {}, {}, {}

    def fault(self, i: int, attempt: int) -> FaultSpec | None:
        faults = self.plan.get(i)
        return faults[attempt - 1] if faults else None

    def backoff(self, attempt: int, err: BackendError) -> float:
        wait = self.policy.backoff_s * 2 ** (attempt - 1)
        return max(wait, err.retry_after or 0.0)

    def retryable(self, attempt: int, err: BackendError) -> bool:
        """Another attempt is allowed — never for a failure that stops the run (a refused
        key, usage above the call's bound) or a call the run cancelled."""
        return (attempt < self.policy.attempts and not isinstance(err, (AuthenticationError, CallCancelledError))
                and err.stops_run is None)

    def note_retry(self, i: int, attempt: int, start: float, took: float, wait: float, err: BackendError) -> None:
        self.retries.setdefault(i, []).append((attempt, start, took, wait, err))

    def play_batched(self, i: int) -> None:
        """Play agent ``i``'s attempts for a batched backend (whose real call succeeded)."""
        elapsed = 0.0
        for attempt in range(1, self.policy.attempts + 1):
            fault = self.fault(i, attempt)
            if fault is None:
                if elapsed:
                    self.waited[i] = elapsed
                return
            err = injected_error(fault)
            took = float(err.latency_s or 0.0)
            if not self.retryable(attempt, err):
                err.latency_s = elapsed + took
                self.failed[i] = err
                return
            wait = self.backoff(attempt, err)
            self.note_retry(i, attempt, elapsed, took, wait, err)
            elapsed += took + wait


class FaultyBackend(Backend):
    """A per-agent backend with injected faults and the retry policy in front of it.

    It answers for its ``inner`` backend in every way the engine asks: what it retried,
    and its worst case — multiplied by the calls the failure policy may make per agent."""

    def __init__(self, inner: Backend, attempts: Attempts, index: dict[str, int]):
        self.inner = inner
        self.attempts = attempts
        self.index = index
        self.simulated = inner.simulated  # type: ignore[misc]
        # virtual replies stay virtual: else an asynchronous run of simulated agents with a
        # backend fault or a retry policy would switch to real time (and finish in ~0 s)
        self.virtual_time = inner.virtual_time  # type: ignore[misc]

    def take_retries(self):
        return self.inner.take_retries()

    def worst_case_round(self, round, agents, request_of):
        found = self.inner.worst_case_round(round, agents, request_of)
        if found is None:
            return None
        calls = self.attempts.policy.attempts
        return found[0] * calls, found[1] * calls

    async def respond(self, request):
        i, book = self.index[request.agent], self.attempts
        elapsed, virtual = 0.0, True
        for attempt in range(1, book.policy.attempts + 1):
            started = time.perf_counter()
            try:
                fault = book.fault(i, attempt)
                if fault is not None:
                    raise injected_error(fault)
                reply = await self.inner.respond(request)
                return dataclasses.replace(reply, latency_s=elapsed + reply.latency_s, attempts=attempt)
            except BackendError as err:
                took = err.latency_s if err.latency_s is not None else time.perf_counter() - started
                virtual = virtual and err.latency_s is not None
                if not book.retryable(attempt, err):
                    err.latency_s = elapsed + took if virtual else None
                    raise
                wait = book.backoff(attempt, err)
                book.note_retry(i, attempt, elapsed, took, wait, err)
                elapsed += took + wait
                if not virtual:
                    await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def aclose(self) -> None:
        await self.inner.aclose()


class FaultyBatchBackend(FaultyBackend):
    """A batched backend: the real round call, then each agent's attempts played out."""

    batched = True

    def respond_round(self, batch: RoundBatch) -> RoundReplies:
        out = self.inner.respond_round(batch)
        for i in batch.acting.tolist():
            self.attempts.play_batched(i)
        return out


def wrap_backend(backend: Backend, attempts: Attempts, index: dict[str, int]) -> FaultyBackend:
    if isinstance(backend, FaultyBackend):
        return backend
    if backend.batched:
        return FaultyBatchBackend(backend, attempts, index)
    return FaultyBackend(backend, attempts, index)
