"""What backends report besides replies: retried attempts and worst-case round costs.

Two optional backend methods, used when present (the ``openai`` backend has both):

``take_retries()``                    the attempts the backend retried on its own
                                      since the last call (``backends.retrying.Attempt``);
                                      logged here as ``AgentRetried`` events in agent order,
                                      so concurrent calls never change the log's order
``worst_case_round(round, agents,     the most tokens and dollars those agents can spend
question, view)``                     in that round, or ``None`` if it cannot say

Backends wrapped by the fault injector are looked up through their ``inner`` backend,
and a failure policy that retries whole calls multiplies the worst case by its
attempts per call.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from llmteams_lab.events import AgentRetried, on_time_grid
from llmteams_lab.runtime.log import EventLog

__all__ = ["log_backend_retries", "worst_case_round"]


def _inner(backend: Any) -> Any:
    return getattr(backend, "inner", backend)


def log_backend_retries(log: EventLog, groups: Sequence[Any], ids: Sequence[str], round: int, t0: float) -> None:
    """``AgentRetried`` for every attempt a backend retried this round (agent order)."""
    attempts = []
    for group in groups:
        take = getattr(_inner(group.backend), "take_retries", None)
        if take is not None:
            attempts += take()
    if not attempts:
        return
    index = {name: i for i, name in enumerate(ids)}
    attempts.sort(key=lambda a: (index.get(a.agent, len(index)), a.attempt))
    for a in attempts:
        log.add(AgentRetried, round, a.agent, t_start=on_time_grid(t0 + a.start_s),
                t_end=on_time_grid(t0 + a.start_s + a.took_s),
                fault=getattr(a.error, "kind", "error"),
                detail=json.dumps({"attempt": a.attempt, "backoff_s": round_s(a.wait_s), "error": str(a.error)}))


def round_s(seconds: float) -> float:
    return float(f"{seconds:.6g}")


def worst_case_round(groups: Sequence[Any], alive: np.ndarray, round: int, workload: Any) -> tuple[int, float, bool]:
    """(tokens, dollars, unbounded) for the next round: the sum over backends that can
    bound their live agents, and whether some backend could not (the engine then adds
    its own estimate, the most any earlier round used)."""
    question = getattr(workload, "question", None)
    protocol = getattr(workload, "protocol", None)
    view = protocol.view(round) if protocol is not None else {}
    tokens, cost, unbounded = 0, 0.0, False
    for group in groups:
        live = group.agents[alive[group.agents]]
        if live.size == 0:
            continue
        bound = getattr(_inner(group.backend), "worst_case_round", None)
        found = bound(round, live, question, view) if bound is not None else None
        if found is None:
            unbounded = True
            continue
        policy = getattr(getattr(group.backend, "attempts", None), "policy", None)
        calls = getattr(policy, "attempts", 1)
        tokens += found[0] * calls
        cost += found[1] * calls
    return tokens, cost, unbounded
