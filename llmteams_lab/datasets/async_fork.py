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

A run of a real model (real time) forks the same way: the recorded turns are
re-executed in virtual time — the log holds their replies and when they returned — and
at the fork point the run starts following the wall clock from where it stands.

A fork with another seed re-executes the prefix with the recorded run's draws (link
delays and fault hits use the seed it recorded) and draws with its own seed from the
fork point on — as its live agents do — so the prefix is still the recorded one.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Sequence

from llmteams_lab.backends.turn_replay import TurnReplayBackend
from llmteams_lab.errors import DatasetError, LifecycleError
from llmteams_lab.events import Event, on_time_grid
from llmteams_lab.messages import AgentReply
from llmteams_lab.runtime.dispatch import resolve_backends
from llmteams_lab.runtime.engine import Run
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads import workload_for

__all__ = ["fork_asynchronous", "straggling_undone", "turns_under_way"]


async def fork_asynchronous(records: Sequence[Event], at_slice: int, spec: TeamSpec, *, backends: Any = None,
                            sinks: Sequence[Sink] = (), run_id: str, through: int | None = None,
                            under_way: Mapping[tuple[str, float], Any] | None = None) -> Run:
    """A live run of ``spec`` standing where the recorded asynchronous run stood after
    slice ``at_slice`` (then, with ``through``, after its first ``through`` events).
    ``under_way``: replies of turns the log does not hold yet (:func:`turns_under_way`
    of the run being forked)."""
    _check_team(records, spec, bool(at_slice or through))
    then = {spec.ids[int(i)]: g.backend for g in resolve_backends(spec, workload_for(spec.task.kind), backends)
            for i in g.agents}
    replay = TurnReplayBackend(records, then, under_way=under_way)
    run = Run(spec, backends=replay, sinks=sinks, run_id=run_id)  # in virtual time: the replay answers at once
    replay.clock = lambda: run.clock
    undo = straggling_undone(run)
    replay.unstretch = lambda agent, latency: undo(agent, run.round, latency)
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
    if not replay.live_in_virtual_time:  # a real model goes on in real time, from the fork point
        run.execution.follow_wall_clock()  # type: ignore[union-attr]
    return run


def turns_under_way(run: Any) -> dict[tuple[str, float], AgentReply | BaseException]:
    """The replies of turns a live asynchronous ``run`` has begun whose reply has not
    landed yet, by (agent, turn start): what they will say is already decided (in its
    calendar), so a fork where the run stands re-executes them too. ``{}`` for anything
    else (a synchronous run, a replay)."""
    calendar = getattr(getattr(run, "execution", None), "calendar", None)
    if calendar is None or not hasattr(calendar, "pending"):
        return {}
    ids, options = run.spec.ids, run.workload.options
    out: dict[tuple[str, float], AgentReply | BaseException] = {}
    for happening in calendar.pending("reply"):
        slots, t0, i = happening.data
        latency = float(slots.latency[i])
        err = slots.failures.get(i)
        if err is not None:
            out[(ids[i], on_time_grid(t0))] = err
            continue
        reply = slots.replies.get(i)
        a = int(slots.answer[i])
        out[(ids[i], on_time_grid(t0))] = AgentReply(
            ids[i], options[a] if a >= 0 else (reply.answer if reply is not None else None),
            int(slots.confidence[i]) / 1000, reply.text if reply is not None else "", int(slots.tokens_in[i]),
            int(slots.tokens_out[i]), latency, reply.cost_usd if reply is not None else None,
            actions=reply.actions if reply is not None else ())
    return out


def straggling_undone(run: Run) -> Callable[[str, int, float], float]:
    """``(agent, round, latency) ->`` the latency before ``run``'s straggler faults of
    that round stretch it: a run re-executing recorded replies stretches them again, so
    its replay backend answers with this (the inverse of the injector's stretch)."""
    index = {a: i for i, a in enumerate(run.spec.ids)}

    def undone(agent: str, round: int, latency: float) -> float:
        faults = run.faults
        for f in reversed([f for f in getattr(faults, "faults", ()) if f.kind == "straggler"]):
            if f.agents_hit(faults.seed, round)[index[agent]]:
                latency = (latency - (f.spec.extra_s or 0.0)) / (f.spec.factor or 1.0)
        return latency

    return undone


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
