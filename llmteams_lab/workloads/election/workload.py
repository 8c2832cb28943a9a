"""The election workload: a team electing leaders and committing decisions, Raft-style.

Each agent is a Raft node (``election.raft``): this class is the nodes' code — it reads
every message, applies the rules, keeps terms, votes and logs, and sends what the rules
say — while each agent makes its turn's choices (``view["decide"]``): whether to stand
when its election timer runs out, which legal candidate gets its vote, and, as leader,
what the team's answer to the next question is. A turn:

1. ``request`` (the turn starts at ``inbox.now``): the node reads its mailbox into a
   copy of its state (higher terms, votes, the leader's log, acks) and the agent is
   asked for the choices that reading leaves open;
2. ``apply`` (the reply is back): the choices meet the rules (``ActionRefused`` for a
   choice they forbid), the node's new state is kept, its happenings are logged
   (``VoteGranted``, ``ElectionStarted``, ``LeaderElected``, ``EntryCommitted`` ...,
   see ``election.events``) and its records leave as one message to their recipients;
3. ``timers``: followers and candidates are woken when their election timer runs out,
   leaders when a heartbeat is due (asynchronous runs; in synchronous rounds every
   live agent acts every round and checks its timers then).

A node's state is durable: an agent that crashes and recovers keeps its term, vote and
log (Raft's persistent state); a crash mid-turn loses that turn. A failed backend call
still lets the node's code do its mechanical part (acks, term updates) — the agent just
makes no choice that turn.

Timeouts are drawn per reset, uniformly in [T, T·(1 + spread)], from a stream keyed by
(seed, agent, draw), so a seed reproduces every timer. The run is done when the
``decisions`` questions are committed (never, with 0: an election-only run ends on its
budget). With ``duty="assign"`` the leader assigns the tasks of a work DAG instead
(``election.assignment``: the work entries, the followers' work, ``TaskClaimed`` and
``TaskCompleted``) and the run is done when every task's completion is committed
(``all_tasks_done``, the work-division reason).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.events import TaskCompleted, event_class, on_time_grid
from llmteams_lab.messages import AgentRequest
from llmteams_lab.protocols import Decision
from llmteams_lab.rounds import Inbox, Outgoing, RoundReplySlots
from llmteams_lab.spec import TeamSpec
from llmteams_lab.streams import KeyedStreams
from llmteams_lab.workloads.election import raft
from llmteams_lab.workloads.election.assignment import Assignments, ledger
from llmteams_lab.workloads.election.raft import CANDIDATE, LEADER, WORK, Node, Reading
from llmteams_lab.workloads.roles import (
    envelope,
    log_choices,
    open_envelope,
    question_at,
    reply_ends,
)

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.log import EventLog, LogMode

__all__ = ["Election"]

_STREAM = 0xE1EC  # the election timers' random stream


class Election:
    """Raft nodes and what their agents' replies do (see the module docstring)."""

    name = "election"
    options: tuple[str, ...] = ()
    question = None

    def __init__(self, spec: TeamSpec, log: "EventLog", mode: "LogMode | None" = None):
        self.spec, self.log, self.cfg = spec, log, spec.task.election
        self.ids, self.n = spec.ids, len(spec.agents)
        self.index = {a: i for i, a in enumerate(self.ids)}
        self.work = Assignments(spec) if self.cfg.duty == "assign" else None
        decisions = 0 if self.work is not None else self.cfg.decisions
        self.questions = [question_at(spec.task, self.cfg.question, k, spec.seed) for k in range(decisions)]
        self.nodes = [Node() for _ in range(self.n)]
        self._draws = [0] * self.n
        self._timeout_streams = KeyedStreams((spec.seed, _STREAM), self.n)  # per agent, keyed by its draws
        for i, node in enumerate(self.nodes):
            node.deadline = self._timeout(i, 0.0)
        self._turns: dict[int, tuple[Reading, float]] = {}
        self._said: dict[int, list[dict[str, Any]]] = {}
        self._ends: dict[int, float] = {}
        self._reply_seq = np.full(self.n, -1, dtype=np.int64)
        self.committed: dict[int, str] = {}  # question -> the value some leader committed
        self.leaders: dict[int, str] = {}  # term -> its leader
        self.decision = Decision(0)
        self.cost_used = 0.0

    def _timeout(self, i: int, now: float) -> float:
        """A fresh election deadline for agent ``i``: now + T·(1 + spread·u)."""
        self._draws[i] += 1
        u = float(self._timeout_streams.generator(i, self._draws[i]).random())  # PCG64([seed, _STREAM, i, draw])
        return on_time_grid(now + self.cfg.election_timeout_s * (1.0 + self.cfg.timeout_spread * u))

    # --- what agents see ------------------------------------------------------------------
    def acting(self, round: int, alive: np.ndarray) -> np.ndarray:
        return np.flatnonzero(alive)

    def batch(self, round: int, acting: np.ndarray, inbox: Inbox) -> RoundBatch:
        return RoundBatch(self.log.run_id, round, None, self.name, acting, np.full(self.n, -1, dtype=np.int64),
                          inbox.votes, inbox.weight, inbox.size, {})

    def request(self, round: int, i: int, inbox: Inbox) -> AgentRequest:
        """Agent ``i``'s node reads its mailbox; the agent is asked what that leaves open."""
        me = self.ids[i]
        msgs = inbox.messages(i, self.ids, ())
        records = [(self.index[m.sender], r) for m in msgs if m.sender in self.index for r in open_envelope(m.text, me)]
        now = on_time_grid(inbox.now)  # deadlines are on the grid; a timer may wake one float step short
        reading = raft.read(self.nodes[i], i, records, now, self.ids)
        self._turns[i] = (reading, now)
        node = reading.node
        leads = node.role == LEADER or (node.role == CANDIDATE and len(node.votes) > self.n // 2)
        k = self._next_question(node) if leads and node.commit == len(node.log) else None
        offer = None
        if self.work is not None:
            self.work.hear(i, node, records, now, leads)
            offer = self.work.offer(i, node, now) if leads else None
        decide = (["vote"] if reading.candidates else []) + (["stand"] if reading.expired else []) + \
                 (["propose"] if k is not None else []) + (["assign"] if offer and offer.ready and offer.idle else [])
        view = {"term": node.term, "leader": self._id(node.leader), "voted_for": self._id(node.voted_for),
                "log": [{"term": t, "question": q, "value": v} for t, q, v in node.log], "commit": node.commit,
                "timer_expired": reading.expired, "candidates": [self.ids[c] for c in reading.candidates],
                **(self.work.view(node, offer) if self.work is not None else {}), "decide": decide}
        return AgentRequest(self.log.run_id, round, me, LEADER if leads else node.role,
                            self.questions[k] if k is not None else None, msgs, None, None, self.name, view,
                            self.name)

    def _next_question(self, node: Node) -> int | None:
        held = {k for _, k, _ in node.log}
        return next((k for k in range(len(self.questions)) if k not in held), None)

    def _id(self, i: int | None) -> str | None:
        return self.ids[i] if i is not None else None

    # --- applying replies -----------------------------------------------------------------
    def apply(self, round: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> float:
        """Each acting agent's choices meet the rules, in agent order; the turn's end."""
        self._said = {}
        replies, t_last = reply_ends(acting, t0, slots, self._ends)
        for i, t_end in replies:
            reading, now = self._turns.pop(i, None) or (raft.read(self.nodes[i], i, [], t0, self.ids), t0)
            choices = self._record_reply(round, i, t0, t_end, slots)
            self._turn(round, i, reading, now, t0, t_end, choices)
        return t_last

    def _record_reply(self, r: int, i: int, t0: float, t_end: float, slots: RoundReplySlots) -> dict[str, Any]:
        self._reply_seq[i], spent, choices = log_choices(self.log, r, self.ids[i], i, t0, t_end, slots,
                                                         {"term": self.nodes[i].term, "role": self.nodes[i].role})
        self.cost_used += spent
        return choices

    def _turn(self, r: int, i: int, reading: Reading, now: float, t0: float, t_end: float,
              choices: dict[str, Any]) -> None:
        node = reading.node
        refused: list[tuple[str, str]] = []
        vote = choices.get("vote")
        vote_i = self.index.get(vote, -1) if isinstance(vote, str) else None
        k = self._next_question(node)
        propose = choices.get("propose") if isinstance(choices.get("propose"), str) else None
        if propose is not None and k is not None and propose not in self.questions[k].options:
            refused.append(("propose", f"{propose[:40]!r} is not an option of question {k}"))
            propose = None
        entries: list[tuple[int, str]] = []
        if self.work is not None:
            entries, more = self.work.entries(i, choices.get("assign"))
            refused += more
        out = raft.act(reading, i, self.n, vote=vote_i, stand=bool(choices.get("stand")), propose=propose,
                       next_question=k, now=now, entries=entries)
        node = out.node
        if out.reset:
            node.deadline = self._timeout(i, t0)
        if any(rec["type"] == "append" for rec in out.records):
            node.heartbeat_due = on_time_grid(t_end + self.cfg.heartbeat_s)
        self.nodes[i] = node
        cause = int(self._reply_seq[i])
        for kind, peer, value, detail in out.happened:
            self._happened(r, i, t0, t_end, cause, kind, peer, value, detail)
        for choice, reason in refused + out.refused:
            self.log.add(event_class("ActionRefused"), r, self.ids[i], t_start=t0, t_end=t_end, value=choice,
                         detail=reason, cause=cause)
        if self.work is not None:
            self._work(r, i, node, now, t0, t_end, cause, out.records)
        if out.records:
            self._said[i] = [{**rec, "to": [self.ids[j] for j in rec["to"]]} for rec in out.records]

    def _work(self, r: int, i: int, node: Node, now: float, t0: float, t_end: float, cause: int,
              records: list[dict[str, Any]]) -> None:
        """Agent ``i``'s work this turn (``election.assignment``): its events, its report."""
        happened, report = self.work.work(i, node, r, now, t_end)
        for kind, task, detail in happened:
            peer = detail.pop("to", None)
            self.log.add(event_class(kind), r, self.ids[i], peer, t_start=t0, t_end=t_end, value=task,
                         detail=json.dumps(detail, separators=(",", ":")) if detail else None, cause=cause)
        if report is not None:
            records.append(report)

    def _happened(self, r: int, i: int, t0: float, t_end: float, cause: int, kind: str, peer: int | None,
                  value: str, detail: dict[str, Any]) -> None:
        correct = None
        if kind == "LeaderElected":
            self.leaders[int(value)] = self.ids[i]
            detail = {**detail, "votes": [self.ids[j] for j in detail["votes"]]}
        elif detail.get("question") == WORK:
            self._work_entry(r, i, t0, t_end, cause, kind, value, detail)
            return
        elif kind == "EntryCommitted" and detail["question"] >= 0:
            q = self.questions[detail["question"]]
            correct = value == q.answer
            self.committed.setdefault(detail["question"], value)
        elif kind in ("EntryProposed", "EntryCommitted"):
            value = value or "no-op"
        self.log.add(event_class(kind), r, self.ids[i], self._id(peer), t_start=t0, t_end=t_end, value=value,
                     correct=correct, detail=json.dumps(detail, separators=(",", ":")), cause=cause)

    def _work_entry(self, r: int, i: int, t0: float, t_end: float, cause: int, kind: str, value: str,
                    detail: dict[str, Any]) -> None:
        """A work entry proposed or committed by leader ``i`` (and, once per task, its completion)."""
        op = json.loads(value)
        detail = {**detail, "op": op[0], "task": op[1], "agent": op[2]}
        before = ledger(self.nodes[i].log, detail["index"] - 1).assignee.get(op[1]) if op[0] == "assign" else None
        if before is not None:
            detail["replaces"] = before
        self.log.add(event_class(kind), r, self.ids[i], t_start=t0, t_end=t_end, value=value,
                     detail=json.dumps(detail, separators=(",", ":")), cause=cause)
        if kind != "EntryCommitted" or self.work.commit(value) is None:
            return
        if op[0] == "done":
            self.log.add(TaskCompleted, r, op[2], self.ids[i], t_start=t0, t_end=t_end, value=op[1], cause=cause,
                         detail=json.dumps({"index": detail["index"]}, separators=(",", ":")))
        elif before is not None:
            self.log.add(event_class("TaskReassigned"), r, self.ids[i], op[2], t_start=t0, t_end=t_end, value=op[1],
                         detail=json.dumps({"from": before}, separators=(",", ":")), cause=cause)

    # --- the team's state -----------------------------------------------------------------
    def decide(self, round: int, alive: np.ndarray) -> Decision:
        if self.work is not None:
            self.work.down(alive)
            done = self.work.all_done
            self.decision = Decision(len(self.work.completed), done, "all_tasks_done" if done else "")
            return self.decision
        done = self.cfg.decisions > 0 and len(self.committed) >= self.cfg.decisions
        self.decision = Decision(len(self.committed), done, "committed" if done else "")
        return self.decision

    def broadcast(self, round: int, acting: np.ndarray, slots: RoundReplySlots) -> Outgoing:
        senders = np.array(sorted(self._said), dtype=np.int64)
        texts = {i: envelope(recs) for i, recs in self._said.items()}
        values = {i: "+".join(sorted({rec["type"] for rec in recs})) for i, recs in self._said.items()}
        named = {i: tuple(sorted({self.index[a] for rec in recs for a in rec["to"]})) for i, recs in self._said.items()}
        return Outgoing(senders, np.full(self.n, -1, dtype=np.int64), np.zeros(self.n, dtype=np.int64), values, texts,
                        slots.tokens_out, self._reply_seq.copy(), named)

    def timers(self, round: int, acting: np.ndarray) -> dict[int, float]:
        """Wake a leader when its heartbeat is due, anyone else when its election timer runs out."""
        out = {}
        for i in acting.tolist():
            node, t_end = self.nodes[i], self._ends.get(i, 0.0)
            due = node.heartbeat_due if node.role == LEADER else node.deadline
            finish = self.work.wake(i) if self.work is not None else None
            if finish is not None and node.role != LEADER:
                due = min(due, finish)
            out[i] = on_time_grid(max(0.0, due - t_end))
        return out

    def outcome(self) -> tuple[str | None, bool | None]:
        """The committed decisions in question order, and whether all are right (once all
        are in); with ``duty="assign"``: ``"<done>/<total> tasks done"`` and whether all are."""
        if self.work is not None:
            return f"{len(self.work.completed)}/{len(self.work.size)} tasks done", self.work.all_done
        if not self.committed:
            return None, None
        values = [self.committed.get(k, "?") for k in range(self.cfg.decisions)]
        done = len(self.committed) >= self.cfg.decisions
        return "; ".join(values), (all(v == q.answer for v, q in zip(values, self.questions)) if done else None)

    def agreement(self, alive: np.ndarray) -> float:
        """Share of live agents following the most followed (term, leader)."""
        seen: dict[tuple[int, int], int] = {}
        for i in np.flatnonzero(alive).tolist():
            node = self.nodes[i]
            if node.leader is not None:
                seen[(node.term, node.leader)] = seen.get((node.term, node.leader), 0) + 1
        live = int(np.count_nonzero(alive))
        return max(seen.values()) / live if seen and live else 0.0

    def state(self) -> dict[str, Any]:
        """Per agent, for UIs: its role, term, leader, vote, log, commit index and a
        ``badge`` (``"♛ t3"`` for the leader of term 3, ``"? t4"`` for a candidate)."""
        out: dict[str, Any] = {}
        for aid, node in zip(self.ids, self.nodes):
            mark = {"leader": "♛ ", "candidate": "? "}.get(node.role, "")
            out[aid] = {"answer": None, "confidence": None, "role": node.role, "term": node.term,
                        "leader": self._id(node.leader), "voted_for": self._id(node.voted_for),
                        "log": [v or "no-op" for _, _, v in node.log], "commit": node.commit,
                        "badge": f"{mark}t{node.term}"}
            if self.work is not None:
                out[aid]["task"] = self.work.task_of(self.index[aid])
        return out

