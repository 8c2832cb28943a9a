"""Forking an asynchronous run: re-execute its turns up to a point, then go on live.

A synchronous run forks by re-executing rounds 1..k with the recorded replies
(``datasets.replay``). An asynchronous run has no rounds to key replies by — each agent
acts on its own clock — so the fork re-executes it *happening by happening* with a
:class:`~llmteams_lab.backends.turn_replay.TurnReplayBackend`, which answers each turn
begun before the fork point from the log (keyed by agent and start time). The engine's
calendar, link-delay draws and fault injector then produce the recorded events again,
byte for byte, and at the fork point the backend hands over to live backends: turns
begun from then on are new. Replies of turns begun before the fork point but ending
after it are still the recorded ones (they were under way when the timeline split).

The fork point is the end of reporting slice ``k`` — what the lab's scrubber shows —
or, for a run stopped in the middle of a slice (stepped happening by happening), the
moment its log held ``through`` events.

A fork with another seed re-executes the prefix with the recorded run's draws (link
delays and fault hits use the seed it recorded) and draws with its own seed from the
fork point on — as its live agents do — so the prefix is still the recorded one.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from llmteams_lab.backends.turn_replay import TurnReplayBackend
from llmteams_lab.errors import DatasetError, LifecycleError
from llmteams_lab.events import Event
from llmteams_lab.runtime.dispatch import resolve_backends
from llmteams_lab.runtime.engine import Run
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads import workload_for

__all__ = ["fork_asynchronous"]


async def fork_asynchronous(records: Sequence[Event], at_slice: int, spec: TeamSpec, *, backends: Any = None,
                            sinks: Sequence[Sink] = (), run_id: str, through: int | None = None) -> Run:
    """A live run of ``spec`` standing where the recorded asynchronous run stood after
    slice ``at_slice`` (then, with ``through``, after its first ``through`` events)."""
    _check_team(records, spec, bool(at_slice or through))
    then = {spec.ids[int(i)]: g.backend for g in resolve_backends(spec, workload_for(spec.task.kind), backends)
            for i in g.agents}
    replay = TurnReplayBackend(records, then)
    if not replay.virtual_time:
        await replay.aclose()
        raise LifecycleError("an asynchronous fork re-executes the recorded turns in virtual time, but this spec "
                             "continues with a real model, which runs in real time; fork it onto simulated agents "
                             "(or replay the whole run with ReplayRun)")
    run = Run(spec, backends=replay, sinks=sinks, run_id=run_id)
    replay.clock = lambda: run.clock
    _draw_with(run, recorded_seed(records, spec.seed))
    try:
        while run.round < at_slice and not run.done:
            await run.step()
        while through is not None and len(run.events) < through and not run.done:
            await run.advance(1)
    except BaseException:
        await run.aclose()
        raise
    replay.hand_over()
    _draw_with(run, spec.seed)
    return run


def recorded_seed(records: Sequence[Event], default: int) -> int:
    """The seed the recorded run drew with (its ``RunStarted`` spec), else ``default``."""
    start = next((e for e in records if e.kind == "RunStarted"), None)
    try:
        seed = json.loads(start.detail).get("seed") if start is not None and start.detail else None
    except (json.JSONDecodeError, AttributeError):
        seed = None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else default


def _draw_with(run: Run, seed: int) -> None:
    """Draw link delays and fault hits with ``seed``: the recorded run's while its
    happenings are re-executed (so they happen again), the fork's own afterwards."""
    run.links.seed = seed
    if hasattr(run.faults, "seed"):  # not the no-fault injector (a run with no faults to draw)
        run.faults.seed = seed


def _check_team(records: Sequence[Event], spec: TeamSpec, replaying: bool) -> None:
    recorded = {e.agent for e in records if e.kind in ("AgentReplied", "AgentFailed") and e.agent is not None}
    if replaying and not recorded and any(e.kind == "RoundEnded" for e in records):
        raise DatasetError("the run has no per-agent replies (logged by rounds?); an asynchronous fork "
                           "re-executes them, so record with logging='messages'")
    if replaying and not recorded <= set(spec.ids):
        raise LifecycleError(f"an asynchronous fork re-executes the recorded turns and needs the recorded agents "
                             f"{sorted(recorded)} (the spec has {list(spec.ids)})")
    if spec.execution == "synchronous":
        raise LifecycleError("fork_asynchronous forks an asynchronous run; the spec's execution is 'synchronous' "
                             "(fork synchronous runs with ReplayRun.fork)")
