"""Forking a run in the lab: continue from round k, and end a fault by forking.

Why forks: RaftScope lets a student stop a cluster, go back, and try "what if the
leader had not crashed here" on a second timeline beside the first. The lab does the
same with the engine's own machinery: the run's events become a replay
(:class:`~llmteams_lab.datasets.replay.ReplayRun`, spec from
:func:`~llmteams_lab.runtime.faults.spec_from_events`, so live-injected faults are
folded in) and ``fork(k)`` re-executes rounds 1..k with the recorded replies, giving a
live run whose team stands exactly where the original stood after round k. Only the
protocol's ``events`` is read, so live runs and replays (ours, the paper's) fork alike.

Ending a fault ("recover", "heal", "undo") is a fork at the current round whose spec
bounds that fault to the rounds it already acted in (:func:`bounded`): a crash becomes
a crash that recovered after round k, a partition heals in round k + 1, any other
fault's window closes at k, and a fault that has not started yet disappears. The rounds
so far are re-executed unchanged, so the team goes on from where it was — minus the fault.

Asynchronous runs fork the same way, in slices: the recorded turns are re-executed one
by one (:mod:`llmteams_lab.datasets.async_fork`), up to the end of slice k or to the
very happening the run stands at, and a fault ends from the next slice on.
"""

from __future__ import annotations

from typing import Any, Sequence

from llmteams_lab.datasets.async_fork import fork_asynchronous, turns_under_way
from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import ArgumentError, DatasetError
from llmteams_lab.events import Event
from llmteams_lab.runtime import Run
from llmteams_lab.runtime.faults import spec_from_events
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import FaultSpec

__all__ = ["bounded", "fork_run", "forkable", "recorded_spec", "unfinished_slice"]


def recorded_spec(events: Sequence[Event], fallback: TeamSpec) -> TeamSpec:
    """The run's spec with its live faults scheduled (``fallback`` when the log holds no
    spec, e.g. a paper run whose spec was rebuilt from its metadata)."""
    try:
        return spec_from_events(events)
    except DatasetError:
        return fallback


def forkable(spec: TeamSpec) -> TeamSpec:
    """``spec`` with recorded-trace agents (backend ``replay``) turned into simulated ones,
    so a fork of one of the paper's runs continues offline."""
    if not any(a.backend == "replay" for a in spec.agents):
        return spec
    return spec.replace(agents=tuple(a.replace(backend="simulated") if a.backend == "replay" else a
                                      for a in spec.agents))


async def fork_run(events: Sequence[Event], at_round: int, spec: TeamSpec, *, run_id: str,
                   backends: Any = None, source: Any = None) -> Run:
    """A live run standing where the logged run stood after ``at_round``, continuing as
    ``spec`` says (its agents must be the recorded ones for a deliberation run).

    An asynchronous run forks at the end of slice ``at_round`` — or, when that is the
    slice it is in the middle of (stepped happening by happening), exactly where it
    stands: its turns are re-executed until the fork's log is as long as ``events``.
    ``source``: the live run that logged ``events``, whose turns under way (begun, reply
    not yet logged) are re-executed as it will end them."""
    if spec.execution != "synchronous":
        through = len(events) if unfinished_slice(events) and at_round == events[-1].round else None
        return await fork_asynchronous(list(events), at_round - (through is not None), forkable(spec),
                                       backends=backends, run_id=run_id, through=through,
                                       under_way=turns_under_way(source))
    trace = ReplayRun(list(events), spec=spec)
    return await trace.fork(at_round, spec=forkable(spec), backends=backends, run_id=run_id)


def unfinished_slice(events: Sequence[Event]) -> list[Event]:
    """The events of a slice (or round) begun but not yet ended — ``[]`` when the log
    ends between two — e.g. an asynchronous slice stepped happening by happening."""
    for i in range(len(events) - 1, -1, -1):
        kind = events[i].kind
        if kind in ("RoundEnded", "RunEnded"):
            return []
        if kind == "RoundStarted":
            return list(events[i:])
    return []


def bounded(fault: FaultSpec, last: int) -> FaultSpec | None:
    """``fault`` acting no later than round ``last`` (``None``: it never acted by then)."""
    first = fault.first_round
    if first > last:
        return None
    if fault.kind == "crash":
        if fault.probability is not None:
            raise ArgumentError("fault", "must be a scheduled crash to recover from (a random crash cannot "
                                "be bounded)", fault.probability)
        target = {k: getattr(fault, k) for k in ("agent", "group") if getattr(fault, k) is not None}
        return FaultSpec(kind="crash_recover", start_round=first, end_round=last, **target)
    if fault.kind == "partition":
        return fault.replace(heal_round=last + 1) if fault.heal_round is None or fault.heal_round > last + 1 \
            else fault
    if fault.last_round is not None and fault.last_round <= last:
        return fault  # already over
    if fault.at_round is not None:
        return fault
    return fault.replace(start_round=first, end_round=last)
