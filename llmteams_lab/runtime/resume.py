"""Resuming a run from its JSONL log after a crash: ``await Run.resume(path)``.

The log keeps every finished round (``runtime.logfile``). Resuming continues the run
from its last finished round k and produces the log an uninterrupted run would have:

1. read the log (a partial last line is dropped with a warning) and keep its first
   rounds up to k — the events after round k's ``RoundEnded`` (a half-written round,
   or the ``RunEnded`` of a run stopped by Ctrl-C or a failure) are cut off;
2. rebuild the run's state by re-executing rounds 1..k with the replay machinery:
   simulated agents (seeded per seed and round, free) are asked again and must give
   the recorded rounds back exactly; every other agent (an LLM endpoint — never asked
   twice, never billed twice) answers rounds 1..k from the log through a
   :class:`~llmteams_lab.backends.replay.SwitchBackend`, and its own backend from round
   k + 1 on;
3. check the re-execution against the log (every event for an all-simulated team,
   each round's decision and end time otherwise) — a log written by another spec or
   version is refused rather than continued wrongly;
4. keep the recorded events (byte for byte: the file is truncated to them, atomically)
   and append the new rounds to the same file.

What may differ from an uninterrupted run: nothing for simulated agents (the log is
byte-identical); for real endpoints, the columns a second run would change anyway —
``t_start``/``t_end`` of rounds after k (measured wall time), ``tokens_in``/``tokens_out``
and ``cost_usd`` if the server's counts vary, and the replies themselves if the model
is not deterministic. The rounds up to k are the recorded ones, retries included (an
endpoint's own retries are replayed in place). One limit: with a *retrying failure
policy*, retries of real failures in rounds up to k are not re-run, so the re-executed
rounds log fewer events than the log; the log keeps its own (an
:class:`~llmteams_lab.runtime.logfile.InexactResumeWarning` says so), and only the
``cause`` of a message delayed across round k may then point at another event.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from llmteams_lab.backends.replay import ReplayBackend, SwitchBackend
from llmteams_lab.errors import DatasetError, LlmTeamsError
from llmteams_lab.events import Event
from llmteams_lab.runtime.dispatch import resolve_backends
from llmteams_lab.runtime.faults import spec_from_events
from llmteams_lab.runtime.logfile import InexactResumeWarning, finished_prefix, read_log, rewrite_lines
from llmteams_lab.runtime.sinks import JsonlSink, Sink
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads import workload_for

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.engine import Run

__all__ = ["resume_run"]


async def resume_run(cls: type["Run"], path: str | os.PathLike, *, spec: TeamSpec | None = None,
                     backends: Any = None, sinks: Sequence[Sink] = ()) -> "Run":
    """A run continuing the log at ``path`` from its last finished round (see the module
    docstring). ``spec``: the spec the caller means to run — refused if the log was
    written by another one (default: the log's own); ``backends`` as for ``Run``;
    ``sinks`` get the whole log (the kept rounds first), the file gets the new rounds."""
    log = read_log(path)
    if not log.events:  # killed before its first line was written: nothing to keep
        if spec is None:
            raise DatasetError(f"{path} holds no complete event; pass spec= to start the run again")
        rewrite_lines(path, [])
        return cls(spec, backends=backends, sinks=[JsonlSink(path), *sinks])
    events = _one_run(log.events, Path(path))
    recorded = _recorded_spec(events, Path(path))
    if spec is not None and spec.to_json() != recorded.to_json():
        raise DatasetError(f"{path} was written by another spec (fingerprint {recorded.fingerprint()}, this one "
                           f"is {spec.fingerprint()}); start over instead of resuming")
    k, kept = finished_prefix(events)
    prefix = events[:kept]
    rewrite_lines(path, log.lines[:kept])
    run_id = events[0].run_id
    if k == 0:  # nothing finished: the run starts again (its first events are the same)
        return cls(recorded, backends=backends, sinks=[JsonlSink(path), *sinks], run_id=run_id)
    run = await _reexecute(cls, spec_from_events(prefix), prefix, k, backends, run_id)
    _adopt(run, prefix, [JsonlSink(path), *sinks])
    return run


def _one_run(events: list[Event], path: Path) -> list[Event]:
    runs = list(dict.fromkeys(e.run_id for e in events))
    if len(runs) > 1:
        raise DatasetError(f"{path} holds {len(runs)} runs; a run's log holds one (resume the runs one by one)")
    if not events or events[0].kind != "RunStarted":
        raise DatasetError(f"{path} does not start with a RunStarted event: it is not a run's log")
    return events


def _recorded_spec(events: list[Event], path: Path) -> TeamSpec:
    try:
        return TeamSpec.from_json(events[0].detail or "")
    except LlmTeamsError as err:
        raise DatasetError(f"{path}: the spec in its RunStarted event does not build here ({err})") from None


async def _reexecute(cls: type["Run"], spec: TeamSpec, prefix: list[Event], k: int, backends: Any,
                     run_id: str) -> "Run":
    """A run stepped through rounds 1..k (simulated agents asked again, the others
    answered from ``prefix``), checked against ``prefix``."""
    groups = resolve_backends(spec, workload_for(spec.task.kind), backends)
    # without a retrying failure policy, every recorded AgentRetried is a backend's own retry
    replay = ReplayBackend(prefix, own_retries=spec.failure_policy.on_error != "retry")
    by_agent: dict[str, Any] = {}
    asked_again = True
    for group in groups:
        backend = group.backend
        if not (backend.simulated or backend.batched):
            backend = SwitchBackend(replay, backend, after_round=k)
            asked_again = False
        by_agent.update({spec.ids[int(i)]: backend for i in group.agents})
    run = cls(spec, backends=by_agent, run_id=run_id)
    try:
        while run.round < k and not run.done:
            await run.step()
        _check(run.events, prefix, k, exact=asked_again)
    except BaseException:
        await run.aclose()
        raise
    return run


def _check(again: list[Event], prefix: list[Event], k: int, *, exact: bool) -> None:
    """The re-executed rounds must be the recorded ones (see the module docstring)."""
    if exact:
        mine = [e for e in list(again[:len(prefix)]) if e.kind != "RunStarted"]
        theirs = [e for e in prefix if e.kind != "RunStarted"]
        diff = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), None)
        if diff is None and len(again) >= len(prefix):
            return
        where = theirs[diff] if diff is not None else prefix[-1]
        raise DatasetError(f"cannot resume: re-running round {where.round} did not reproduce the log "
                           f"(event {where.seq}, {where.kind}); was it written by another version or spec?")
    ends = lambda events: [(e.round, e.value, e.correct, e.t_end) for e in events  # noqa: E731
                           if e.kind == "RoundEnded" and e.round <= k]
    again = list(again)
    if ends(again) != ends(prefix):
        raise DatasetError("cannot resume: replaying the recorded rounds gave other decisions than the log; "
                           "was it written by another version or spec?")
    k_end = max(i for i, e in enumerate(again) if e.kind == "RoundEnded")
    if k_end + 1 != len(prefix):  # e.g. retries of a retrying failure policy are not replayed
        warnings.warn(InexactResumeWarning(
            f"re-running rounds 1..{k} logged {k_end + 1} events where the log has {len(prefix)}; the log keeps "
            "its own, and only the 'cause' of messages delayed across that boundary may point elsewhere"),
            stacklevel=4)


def _adopt(run: "Run", prefix: list[Event], sinks: list[Sink]) -> None:
    """Make the recorded events the run's log: what re-execution added after round k
    (a ``RunEnded`` if the run ended there) follows them, numbered on."""
    log = run.log
    again = log.events[:]  # typed events of the re-executed rounds
    k_end = max(i for i, e in enumerate(again) if e.kind == "RoundEnded")
    tail = [e._replace(seq=len(prefix) + j) for j, e in enumerate(again[k_end + 1:])]
    log.sinks = []
    log.truncate(0)
    log.extend(prefix)
    log.flush()  # no sinks yet: marks the recorded events as delivered
    log.sinks = sinks
    for sink in sinks[1:]:  # the file already holds them; other sinks get the whole log
        sink.write(prefix)
    log.extend(tail)
    log.flush()
