"""Replaying a recorded run round by round, and forking it at round k.

:class:`ReplayRun` satisfies the engine's stepping protocol and shares its lifecycle
(``runtime.lifecycle``) — ``await step()`` returns a
:class:`~llmteams_lab.runtime.lifecycle.RoundSummary`, ``run()``, ``events``, ``done``,
``status``, ``round``, ``state()``, ``result()``, sinks — so the lab's controls and live
figures work on a trace exactly as on a live run. Each step re-emits one recorded round
unchanged (same run id, same ``seq``), so a replay's log equals the trace byte for byte.
Stepping past the last recorded round raises :class:`ReplayFinishedError` (both a
``TraceEndedError`` and a ``RunFinishedError``); ``done`` is already true by then.

``await replay.fork(k, spec=..., backends=...)`` continues the run from its state after
round k as a live engine :class:`~llmteams_lab.runtime.engine.Run` — with another
backend, another fault schedule or (work division) another team:

* work division with the recorded team and recorded actions (our own traces keep them
  in ``AgentReplied.detail``) re-executes rounds 1..k like deliberation (below): exact,
  inboxes included. With another team it restores the task board after round k —
  exactly, by re-applying the recorded actions, or by inference for traces without
  actions (the paper's runs do not release task ids): the recorded number of completed
  tasks, taken in dependency order and preferring tasks whose files were written, are
  done; written but unfinished tasks are held by their last writer. Tasks held by agents
  not in the new team, and every other unfinished task, start as the new team's
  assignment mode says. The fork's log starts with the recorded rounds 1..k (under the
  fork's run id and spec); messages in flight at round k are not carried over;
* deliberation re-executes rounds 1..k through the engine with the recorded replies
  (:class:`~llmteams_lab.backends.replay.SwitchBackend`), which rebuilds answers, inboxes
  and protocol state exactly; it needs the recorded agents and per-agent rows.
Faults in the new spec should be scheduled after round k.

An asynchronous run (``execution`` other than ``"synchronous"``) forks at the end of
reporting slice k: its turns are re-executed one by one (``datasets.async_fork``).
"""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import Any, Sequence

from llmteams_lab.backends.replay import ReplayBackend, SwitchBackend
from llmteams_lab.datasets.async_fork import fork_asynchronous, straggling_undone
from llmteams_lab.errors import (
    DatasetError,
    LifecycleError,
    LlmTeamsError,
    RunFinishedError,
    TraceEndedError,
)
from llmteams_lab.events import Event
from llmteams_lab.metrics.consensus import round_agreement
from llmteams_lab.runtime.dispatch import resolve_backends
from llmteams_lab.runtime.engine import Run
from llmteams_lab.runtime.lifecycle import Lifecycle, RoundSummary
from llmteams_lab.runtime.log import EventLog, LogMode
from llmteams_lab.runtime.logfile import UnfinishedLogWarning, interrupted_tail
from llmteams_lab.runtime.result import RunResult
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads import workload_for
from llmteams_lab.workloads.workdivision.dag import topological_order
from llmteams_lab.workloads.workdivision.workload import WorkDivision

__all__ = ["ReplayFinishedError", "ReplayRun"]


class ReplayFinishedError(TraceEndedError, RunFinishedError):
    """``step()`` was called after the last recorded round of a trace."""


class ReplayRun(Lifecycle):
    """Steps through one recorded run (see the module docstring)."""

    noun = "replay"

    def __init__(self, records: Sequence[Event], *, spec: TeamSpec | None = None, sinks: Sequence[Sink] = (),
                 run_id: str | None = None):
        super().__init__()
        runs = list(dict.fromkeys(e.run_id for e in records))
        if not runs:
            raise DatasetError("a replay needs a recorded run, but the trace holds no events")
        if run_id is None and len(runs) > 1:
            raise DatasetError(f"the trace holds {len(runs)} runs; pass run_id= (one of {runs[:5]} ...)")
        rid = run_id if run_id is not None else runs[0]
        if rid not in runs:
            raise DatasetError(f"run_id {rid!r} is not in the trace (it holds {runs[:5]} ...)")
        self.records = _finished_rounds(sorted((e for e in records if e.run_id == rid), key=lambda e: e.seq))
        self._spec_error = ""
        self.spec = spec if spec is not None else self._recorded_spec()
        self._chunks = _split_rounds(self.records)
        self.log = EventLog(rid, sinks)
        self._next = 0
        self._last: dict[str, tuple[str | None, float | None]] = {}
        self._tasks_done = 0
        self._decision: tuple[str | None, bool | None] = (None, None)

    # --- the stepping protocol ------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.status in ("finished", "closed")

    @property
    def question(self) -> None:
        return None

    @property
    def last_round(self) -> int:
        """The last round the trace records."""
        return max((e.round for e in self.records if e.kind == "RoundStarted"), default=0)

    def state(self) -> dict[str, Any]:
        """Each agent's latest recorded reply (``answer``) and confidence, as the engine's."""
        return {agent: {"answer": value, "confidence": conf} for agent, (value, conf) in sorted(self._last.items())}

    async def _step(self) -> RoundSummary:
        """Re-emit the next recorded round and return its summary."""
        await asyncio.sleep(0)  # a replayed round is instant; let the UI breathe
        chunk = self._chunks[self._next]
        self._next += 1
        for event in chunk:
            self._absorb(event)
        self.log.extend(chunk)
        if self.status == "ready":
            self.status = "running"
        if self._next >= len(self._chunks):
            self.status = "finished"
            self.end_reason = self.end_reason or "end_of_trace"
        return RoundSummary(self.round, self._decision[0], self._decision[1], self._agreement(chunk),
                            self.done, self.end_reason or "", self.clock)

    def result(self) -> RunResult:
        spec: Any = self.spec  # None for a trace whose spec does not build here
        return RunResult(spec, self.run_id, self.log.snapshot(), self.end_reason, self._decision[0],
                         self._decision[1], self.round)

    def __repr__(self) -> str:
        return f"<ReplayRun {self.run_id} {self.status} round={self.round}/{self.last_round}>"

    # --- internals ----------------------------------------------------------------------
    def _failed(self, err: BaseException) -> None:
        return None  # a replay re-emits recorded events; nothing of its own can fail

    def _closing(self) -> None:
        return None  # the trace's own RunEnded (if any) says how the run ended

    def _finished_error(self) -> RunFinishedError:
        return ReplayFinishedError(
            f"the trace of run {self.run_id} ended after round {self.round} ({self.end_reason}); "
            f"use fork(at_round=k) to continue it with a backend")

    def _absorb(self, e: Event) -> None:
        if e.kind == "RoundStarted":
            self.round = e.round
        elif e.kind == "AgentReplied" and e.agent is not None:
            self._last[e.agent] = (e.value, _detail(e).get("confidence"))
        elif e.kind == "TaskCompleted":
            self._tasks_done += e.count
        elif e.kind == "RoundEnded":
            self.clock = float(e.t_end)
            self._decision = (e.value, e.correct)
        elif e.kind == "RunEnded":
            self.clock = max(self.clock, float(e.t_end))
            self.end_reason = e.detail or "ended"
            self._decision = (e.value, e.correct) if e.value is not None else self._decision

    def _agreement(self, chunk: list[Event]) -> float:
        if self.spec is not None and self.spec.task.work is not None:
            return min(1.0, self._tasks_done / len(self.spec.task.work.dag))
        return round_agreement(chunk) or 0.0  # the engine's definition: live agents by the answer they hold

    def _recorded_spec(self) -> TeamSpec | None:
        start = next((e for e in self.records if e.kind == "RunStarted"), None)
        if start is None or not start.detail:
            self._spec_error = "the trace has no RunStarted event with a spec"
            return None
        try:
            return TeamSpec.from_json(start.detail)
        except (LlmTeamsError, ValueError) as err:
            self._spec_error = f"its recorded spec does not build here: {err}"
            return None

    # --- forking ----------------------------------------------------------------------------
    async def fork(self, at_round: int, *, spec: TeamSpec | None = None, backends: Any = None,
                   sinks: Sequence[Sink] = (), run_id: str | None = None) -> Run:
        """A live :class:`Run` continuing from the recorded state after ``at_round``."""
        last = self.last_round
        if isinstance(at_round, bool) or not isinstance(at_round, int) or not 0 <= at_round <= last:
            raise TraceEndedError(f"cannot fork run {self.run_id} at round {at_round!r}: the trace records "
                                  f"rounds 0..{last}")
        base = spec if spec is not None else self.spec
        if base is None:
            raise LifecycleError(f"run {self.run_id} cannot fork: {self._spec_error}; pass spec=")
        rid = run_id or f"{self.run_id}~fork{at_round}"
        if base.execution != "synchronous":  # agents act on their own clocks: replayed turn by turn
            return await fork_asynchronous(self.records, at_round, base, backends=backends,
                                           sinks=sinks, run_id=rid)
        if base.task.kind == "work_division" and not self._replayable(base):
            return self._fork_work(at_round, base, backends, sinks, rid)
        return await self._fork_replayed(at_round, base, backends, sinks, rid)

    def _replayable(self, spec: TeamSpec) -> bool:
        """Whether re-executing the trace rebuilds a work-division run exactly: the
        replies carry their actions and the new team is the recorded one."""
        replies = [e for e in self.records if e.kind == "AgentReplied"]
        recorded = self.spec.ids if self.spec is not None else ()
        return bool(replies) and tuple(spec.ids) == tuple(recorded) and all("actions" in _detail(e) for e in replies)

    async def _fork_replayed(self, k: int, spec: TeamSpec, backends: Any, sinks: Sequence[Sink], rid: str) -> Run:
        recorded = {e.agent for e in self.records if e.kind in ("AgentReplied", "AgentFailed")}
        if k and not recorded:
            raise DatasetError(f"run {self.run_id} has no per-agent replies (logged by rounds?); a deliberation "
                               "fork re-executes them, so record with logging='messages'")
        if k and not recorded <= set(spec.ids):
            raise LifecycleError(f"a deliberation fork re-executes the recorded rounds and needs the recorded "
                                 f"agents {sorted(recorded)} (the spec has {list(spec.ids)})")
        then = {spec.ids[int(i)]: g.backend for g in resolve_backends(spec, workload_for(spec.task.kind), backends)
                for i in g.agents}
        replay = ReplayBackend(self.records)
        run = Run(spec, backends=SwitchBackend(replay, then, after_round=k), sinks=sinks, run_id=rid)
        replay.unstretch = straggling_undone(run)  # recorded latencies were stretched once already
        while run.round < k and not run.done:
            await run.step()
        return run

    def _fork_work(self, k: int, spec: TeamSpec, backends: Any, sinks: Sequence[Sink], rid: str) -> Run:
        run = Run(spec, backends=backends, sinks=sinks, run_id=rid)
        if k == 0:
            return run
        work: WorkDivision = run.workload  # type: ignore[assignment]
        status, owner, progress = self._board_after(k, work)
        fresh = {t["id"]: t for t in work.board.snapshot()}
        for tid, st in list(status.items()):
            keep = st == "done" or (st == "in_progress" and owner.get(tid) in spec.ids)
            if not keep:
                status[tid], owner[tid], progress[tid] = fresh[tid]["status"], fresh[tid]["owner"], 0
        work.board.restore(status, owner, progress)
        prefix = [e for e in self.records if e.round <= k and e.kind != "RunEnded"]
        start = spec.to_json()
        prefix = [e._replace(run_id=rid, seq=i, detail=start if e.kind == "RunStarted" else e.detail)
                  for i, e in enumerate(prefix)]
        run.log.truncate(0)
        run.log.extend(prefix)
        run.round = k
        run.clock = max((float(e.t_end) for e in prefix if e.kind == "RoundEnded"), default=0.0)
        run.tokens_used = sum(int(e.tokens_in) + int(e.tokens_out) for e in prefix if e.kind == "AgentReplied")
        run.status = "running"
        return run

    def _board_after(self, k: int, work: WorkDivision) -> tuple[dict, dict, dict]:
        replies = [e for e in self.records if e.kind == "AgentReplied" and e.round <= k]
        if replies and all("actions" in _detail(e) for e in replies):
            return self._board_from_actions(k, replies, work)
        return self._board_from_writes(k, work)

    def _board_from_actions(self, k: int, replies: list[Event], work: WorkDivision) -> tuple[dict, dict, dict]:
        """Exact: re-apply the recorded actions to the trace's own starting board."""
        source = self.spec if self.spec is not None and self.spec.task.work is not None else work.spec
        scratch = WorkDivision(source, EventLog("scratch"), LogMode(True, "a scratch board"))
        for r in range(1, k + 1):
            for e in (x for x in replies if x.round == r):
                for action in _detail(e)["actions"]:
                    if action and action[0] != "message":
                        scratch.act(str(e.agent), tuple(str(a) for a in action))
            scratch.board.end_round()
        b = scratch.board
        return dict(b.status), dict(b.owner), dict(b.progress)

    def _board_from_writes(self, k: int, work: WorkDivision) -> tuple[dict, dict, dict]:
        """Inferred (no task ids): see the module docstring."""
        board = work.board
        done_count = sum(e.count for e in self.records if e.kind == "TaskCompleted" and e.round <= k)
        writer: dict[str, str] = {}
        for e in self.records:
            if e.kind == "FileWritten" and e.round <= k and e.value and e.agent:
                for tid in board.by_file.get(e.value, ()):
                    writer[tid] = e.agent
        order = topological_order(list(board.tasks.values()))
        status: dict[str, str] = {t: "pending" for t in order}
        while sum(s == "done" for s in status.values()) < min(done_count, len(order)):
            ready = [t for t in order if status[t] != "done"
                     and all(status[d] == "done" for d in board.tasks[t].dependencies)]
            pick = next((t for t in ready if t in writer), ready[0])
            status[pick] = "done"
        owner: dict[str, str | None] = {t: None for t in order}
        for tid, agent in writer.items():
            if status[tid] != "done":
                status[tid], owner[tid] = "in_progress", agent
        return status, owner, {t: 0 for t in order}


def _finished_rounds(records: list[Event]) -> list[Event]:
    """``records`` without a round cut off by a crash (no ``RoundEnded``, no
    ``RunEnded``): it is dropped with a warning rather than replayed as if finished."""
    cut = interrupted_tail(records)
    if not cut:
        return records
    warnings.warn(UnfinishedLogWarning(
        f"run {records[0].run_id}: round {records[-cut].round if records[-cut].round else '?'} was cut off "
        f"before it ended (the process was killed?); its {cut} event(s) are not replayed"), stacklevel=3)
    return records[:-cut]


def _split_rounds(records: list[Event]) -> list[list[Event]]:
    """The trace cut at each ``RoundStarted``; run-level events join the nearest round."""
    chunks: list[list[Event]] = [[]]
    started = False
    for e in records:
        if e.kind == "RoundStarted":
            if started:
                chunks.append([])
            started = True
        chunks[-1].append(e)
    return [c for c in chunks if c]


def _detail(e: Event) -> dict[str, Any]:
    if not e.detail or not e.detail.startswith("{"):
        return {}
    try:
        data = json.loads(e.detail)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
