"""The work-division workload: a team dividing a task DAG on a shared task board.

State: a :class:`~llmteams_lab.workloads.workdivision.board.TaskBoard` (statuses, owners,
progress, file locks). Each round every live agent gets the board as it was when the
round began (a stale view), the project and its inbox; it answers with actions
(``AgentReply.actions``, see ``backends.actions``) — simulated workers build them,
LLM agents have them parsed from their text (a reply with text but no actions is parsed
here). Replies are applied in agent order:

* ``AgentReplied`` (value: what the agent did, detail: its actions as JSON — enough to
  replay the turn exactly), then one event per action: ``TaskClaimed`` / ``ClaimBlocked``
  (detail: the reason), ``FileWritten`` / ``LockDenied`` (peer: the lock holder),
  ``TestsRan`` and ``TaskCompleted`` — all stamped with the agent's reply time;
* an agent's ``message`` actions are broadcast along its out-arcs by the network.

Assignment modes: pre-assigned boards start with every task assigned by
:func:`~llmteams_lab.workloads.workdivision.dag.chain_assignment`; lead-assigned teams wait for the
lead's ``assign`` actions; self-claiming teams start with every task pending. The run
ends when every task is done (``all_tasks_done``) or at the round budget. Each task's
work in rounds is drawn once from the spec's ``work_jitter`` with the team's seed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.events import (
    AgentFailed,
    AgentReplied,
    ClaimBlocked,
    FileWritten,
    LockDenied,
    TaskClaimed,
    TaskCompleted,
    TestsRan,
)
from llmteams_lab.messages import AgentReply, AgentRequest
from llmteams_lab.protocols import Decision
from llmteams_lab.rounds import (
    Inbox,
    Outgoing,
    RoundReplySlots,
    named_recipients,
    woken_by,
)
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads.workdivision.board import Outcome, TaskBoard
from llmteams_lab.workloads.workdivision.codec import describe_actions, parse_actions
from llmteams_lab.workloads.workdivision.dag import chain_assignment

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.log import EventLog, LogMode

__all__ = ["WorkDivision", "draw_work"]

_STREAM = 0x70AD  # the per-task work draws


def draw_work(spec: TeamSpec) -> dict[str, int]:
    """Each task's work in rounds: ``max(1, round(work · exp(work_jitter · z)))``."""
    work = spec.task.work
    dag = work.dag
    seed = spec.seed if spec.task.seed is None else spec.task.seed  # task.seed pins the work sizes
    z = np.random.default_rng([seed, _STREAM]).standard_normal(len(dag))
    return {t.id: max(1, int(round(t.work * float(np.exp(work.work_jitter * zi))))) for t, zi in zip(dag, z)}


class WorkDivision:
    """The task board and what replies do to it (see the module docstring)."""

    name = "work_division"
    options: tuple[str, ...] = ()  # replies are actions, not answers
    question = None

    def __init__(self, spec: TeamSpec, log: "EventLog", mode: "LogMode | None" = None):
        self.spec = spec
        self.log = log
        work = spec.task.work
        self.mode = work.assignment
        self.board = TaskBoard(work.dag, draw_work(spec), locks=work.locks)
        leader = spec.leader if self.mode == "lead_assigned" else None
        self.members = [a for a in spec.ids if a != leader]
        if self.mode == "pre_assigned":
            for tid, agent in chain_assignment(work.dag, spec.ids).items():
                self.board.assign(tid, agent)
        self.project = work.project or spec.name
        self.decision = Decision(-1)
        self.cost_used = 0.0
        self._view: tuple[tuple[int, int], dict[str, Any]] | None = None
        self._applied = 0  # replies applied so far (the board's version an agent looked at)
        self._looked: dict[int, int] = {}  # agent index -> the version of the board it last read
        self._claimed_at: dict[str, int] = {}  # task -> the version in which it was claimed
        self._said: dict[int, str] = {}

    # --- what agents see --------------------------------------------------------------
    def view(self, round: int) -> dict[str, Any]:
        """The board as the round began (built once per round, shared by every agent)."""
        key = (round, self._applied)  # rebuilt after any change: an asynchronous turn sees the board as it is
        if self._view is None or self._view[0] != key:
            self._view = (key, {"mode": self.mode, "project": self.project,
                                  "members": list(self.members), "board": self.board.snapshot()})
        return self._view[1]

    def acting(self, round: int, alive: np.ndarray) -> np.ndarray:
        return np.flatnonzero(alive)

    def batch(self, round: int, acting: np.ndarray, inbox: Inbox) -> RoundBatch:
        n = len(self.spec.agents)
        for i in acting.tolist():
            self._looked[i] = self._applied
        return RoundBatch(self.log.run_id, round, None, self.spec.protocol.kind, acting,
                          np.full(n, -1, dtype=np.int64), inbox.votes, inbox.weight, inbox.size, self.view(round))

    def request(self, round: int, i: int, inbox: Inbox) -> AgentRequest:
        agent = self.spec.agents[i]
        self._looked[i] = self._applied
        return AgentRequest(self.log.run_id, round, agent.id, agent.role, None,
                            inbox.messages(i, self.spec.ids, ()), None, None, self.spec.protocol.kind,
                            self.view(round), self.name)

    # --- applying replies ---------------------------------------------------------------
    def apply(self, round: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> float:
        """Record each reply and apply its actions in agent order; return the round's end."""
        self.view(round)  # make sure the round's view was taken before the board changes
        self._applied += 1
        self._said = {}
        for i in acting.tolist():
            t_end = t0 + float(slots.latency[i])
            if i in slots.failures:
                err = slots.failures[i]
                self.log.add(AgentFailed, round, self.spec.ids[i], t_start=t0, t_end=t_end,
                             fault=getattr(err, "kind", "error"), detail=str(err), cause=woken_by(slots, i))
                continue
            self._apply_reply(round, i, t0, t_end, slots.replies.get(i), slots)
        self.board.end_round()
        return t0 + (float(slots.latency[acting].max()) if acting.size else 0.0)

    def _apply_reply(self, r: int, i: int, t0: float, t_end: float, reply: AgentReply | None,
                     slots: RoundReplySlots) -> None:
        aid = self.spec.ids[i]
        given = reply.actions if reply is not None else ()
        if not given and reply is not None and reply.text:
            given = parse_actions(reply.text)  # a text-only backend: read its reply with the vocabulary
        actions = tuple(tuple(str(x) for x in a) for a in given if a)
        cost = reply.cost_usd if reply is not None else 0.0
        if cost:
            self.cost_used += cost
        self.log.add(AgentReplied, r, aid, t_start=t0, t_end=t_end, value=describe_actions(actions),
                     tokens_in=int(slots.tokens_in[i]), tokens_out=int(slots.tokens_out[i]), cost_usd=cost,
                     fault=slots.marks.get(i), cause=woken_by(slots, i),
                     detail=json.dumps({"actions": [list(a) for a in actions]}, separators=(",", ":")))
        said = []
        for action in actions:
            if action[0] == "message":
                said.append(action[1] if len(action) > 1 else "")
                continue
            for outcome in self.act(aid, action):
                self._record(r, i, t0, t_end, outcome)
        if said:
            self._said[i] = " | ".join(said)

    def act(self, aid: str, action: tuple[str, ...]) -> list[Outcome]:
        """Apply one action of agent ``aid`` to the board (no events: see ``apply``)."""
        verb, arg = action[0], (action[1] if len(action) > 1 else "")
        if verb == "claim":
            return [self.board.claim(aid, arg)]
        if verb == "write":
            return [self.board.write(aid, arg)]
        if verb == "complete":
            return self.board.complete(aid, arg, faulty=len(action) > 2 and action[2] == "faulty")
        if verb == "assign" and len(action) > 2:
            allowed = self.mode == "lead_assigned" and aid == self.spec.leader and action[2] in self.members
            return [self.board.assign(arg, action[2])] if allowed else []
        return []

    def _record(self, r: int, i: int, t0: float, t_end: float, o: Outcome) -> None:
        add, aid = self.log.add, self.spec.ids[i]
        if o.kind == "claimed":
            self._claimed_at[o.task] = self._applied
            add(TaskClaimed, r, aid, t_start=t0, t_end=t_end, value=o.task)
        elif o.kind == "claim_blocked":
            # a stale read: the task was taken after the board this agent decided on was read
            stale = self._claimed_at.get(o.task, -1) > self._looked.get(i, self._applied)
            add(ClaimBlocked, r, aid, o.peer, t_start=t0, t_end=t_end, value=o.task, detail=o.reason,
                fault="stale_read" if stale else None)
        elif o.kind == "written":
            detail = json.dumps({"task": o.task, "clobbered": list(o.damaged)}, separators=(",", ":")) \
                if o.task or o.damaged else None
            add(FileWritten, r, aid, t_start=t0, t_end=t_end, value=o.file, detail=detail)
        elif o.kind == "lock_denied":
            add(LockDenied, r, aid, o.peer, t_start=t0, t_end=t_end, value=o.file, detail=o.reason)
        elif o.kind == "tests":
            add(TestsRan, r, aid, t_start=t0, t_end=t_end, value="0" if o.ok else "1", correct=o.ok, detail=o.task)
        elif o.kind == "completed":
            add(TaskCompleted, r, aid, t_start=t0, t_end=t_end, value=o.task)

    # --- the team's state -----------------------------------------------------------------
    def decide(self, round: int, alive: np.ndarray) -> Decision:
        done = self.board.all_done
        self.decision = Decision(self.board.done_count, done, "all_tasks_done" if done else "")
        return self.decision

    def broadcast(self, round: int, acting: np.ndarray, slots: RoundReplySlots) -> Outgoing:
        n = len(self.spec.agents)
        senders = np.array(sorted(self._said), dtype=np.int64)
        texts = [self._said.get(i, "") for i in range(n)]
        values = ["message" if i in self._said else None for i in range(n)]
        index = {a: i for i, a in enumerate(self.spec.ids)}
        return Outgoing(senders, np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.int64), values, texts,
                        slots.tokens_out, None, named_recipients(slots, senders, index))

    def timers(self, round: int, acting: np.ndarray) -> dict[int, float]:
        """No timers: agents act on arrivals (or, working on a board, continuously)."""
        return {}

    def outcome(self) -> tuple[str | None, bool | None]:
        """``"<done>/<total> tasks done"`` and whether every task is done."""
        return f"{self.board.done_count}/{len(self.board.order)} tasks done", self.board.all_done

    def agreement(self, alive: np.ndarray) -> float:
        """For work division: the share of tasks done."""
        return self.board.done_count / len(self.board.order)

    def state(self) -> dict[str, Any]:
        """A JSON-able snapshot for UIs in the engine's per-agent shape: ``answer`` is the
        task an agent holds (``None`` when idle), ``tasks`` all it holds, ``done`` the
        tasks it finished. The board itself is :meth:`tasks`."""
        b = self.board
        out: dict[str, Any] = {}
        for aid in self.spec.ids:
            held = [t for t in b.order if b.owner[t] == aid and b.status[t] == "in_progress"]
            done = [t for t in b.order if b.owner[t] == aid and b.status[t] == "done"]
            out[aid] = {"answer": held[0] if held else None, "confidence": None, "tasks": held, "done": done}
        return out

    def tasks(self) -> dict[str, dict[str, Any]]:
        """The board: each task's status, owner, progress and work."""
        return {t["id"]: {k: t[k] for k in ("status", "owner", "progress", "work")} for t in self.board.snapshot()}
