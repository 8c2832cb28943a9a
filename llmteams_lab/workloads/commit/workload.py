"""The commit workload: a coordinator and participants producing a multi-part output.

The coordinator (the team's leader) runs ``commit.coordinator``'s rules; each other agent
is a participant of one step (``commit.participant``): in order, step 1's replicas (or
primary and backup), then step 2's ... A step's part is its agent's answer to the step's
generated question (or, for a step with an ``action``, whatever the agent writes), so
every output can be graded. A turn, as in every role-playing workload
(``workloads.roles``): ``request`` reads the mailbox into a copy of the node's state and
asks the agent the choice that leaves open — a participant its vote and part, the
coordinator whether to commit once every step is ok (or to veto) — and ``apply`` runs
the rules with that choice, logs what happened (``commit.events``) and sends the records.

Timers (asynchronous runs): the coordinator is woken at its next deadline (a silent
step, a compensation to resend); a prepared participant when its wait for the decision
runs out (then it records itself blocked and asks again every ``timeout_s``). State is
durable across a crash and recovery, like a transaction log; a crash mid-turn loses that
turn. The run is done when the outcome is final: two-phase — decided and known to
every live participant it asked; saga and best effort — the coordinator has ended.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.events import event_class, on_time_grid
from llmteams_lab.messages import AgentRequest
from llmteams_lab.protocols import Decision
from llmteams_lab.rounds import Inbox, Outgoing, RoundReplySlots
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads.commit import coordinator as rules
from llmteams_lab.workloads.commit import participant as member
from llmteams_lab.workloads.commit.coordinator import Coordinator
from llmteams_lab.workloads.commit.participant import FINAL, Part
from llmteams_lab.workloads.roles import envelope, log_choices, open_envelope, question_at, reply_ends

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.log import EventLog, LogMode

__all__ = ["Commit"]

_SUCCESS = ("committed", "published")
_STEP = re.compile(r"\bstep (\d+)\b")


class Commit:
    """The coordinator's and the participants' state (see the module docstring)."""

    name = "commit"
    options: tuple[str, ...] = ()
    question = None

    def __init__(self, spec: TeamSpec, log: "EventLog", mode: "LogMode | None" = None):
        self.spec, self.log, self.cfg = spec, log, spec.task.commit
        self.ids, self.n = spec.ids, len(spec.agents)
        self.index = {a: i for i, a in enumerate(self.ids)}
        self.boss = self.index[spec.leader]
        others = [i for i in range(self.n) if i != self.boss]
        per = self.cfg.per_step
        self.slots = [others[s * per:(s + 1) * per] for s in range(len(self.cfg.steps))]
        self.steps = self.cfg.steps
        self.questions = [question_at(spec.task, self.cfg.question, s, spec.seed) if not step.action else None
                          for s, step in enumerate(self.steps)]
        self.coord = Coordinator(self.cfg.protocol, self.slots, self.cfg.replicas, self.cfg.backup)
        self.parts = {a: Part(s) for s, agents in enumerate(self.slots) for a in agents}
        self._turns: dict[int, Any] = {}
        self._said: dict[int, list[dict[str, Any]]] = {}
        self._ends: dict[int, float] = {}
        self._reply_seq = np.full(self.n, -1, dtype=np.int64)
        self.ended: tuple[str, bool | None] | None = None
        self.decision = Decision(-1)
        self.cost_used = 0.0

    def role_of(self, i: int) -> str:
        """coordinator, participant, replica, primary or backup."""
        if i == self.boss:
            return "coordinator"
        if self.cfg.backup:
            return "primary" if self.slots[self.parts[i].step][0] == i else "backup"
        return "replica" if self.cfg.replicas > 1 else "participant"

    # --- what agents see ------------------------------------------------------------------
    def acting(self, round: int, alive: np.ndarray) -> np.ndarray:
        return np.flatnonzero(alive)

    def batch(self, round: int, acting: np.ndarray, inbox: Inbox) -> RoundBatch:
        return RoundBatch(self.log.run_id, round, None, self.name, acting, np.full(self.n, -1, dtype=np.int64),
                          inbox.votes, inbox.weight, inbox.size, {})

    def request(self, round: int, i: int, inbox: Inbox) -> AgentRequest:
        msgs = inbox.messages(i, self.ids, ())
        records = [(self.index[m.sender], r) for m in msgs if m.sender in self.index
                   for r in open_envelope(m.text, self.ids[i])]
        now = on_time_grid(inbox.now)  # deadlines are on the grid; a timer may wake one float step short
        if i == self.boss:
            turn = rules.read(self.coord, records, now, self.cfg.timeout_s)
            self._turns[i] = (turn, now)
            return AgentRequest(self.log.run_id, round, self.ids[i], "coordinator", None, msgs, None, None, self.name,
                                self._coordinator_view(turn), self.name)
        p = self.parts[i]
        turn = member.read(p, [r for s, r in records if s == self.boss], now, protocol=self.cfg.protocol,
                           timeout=self.cfg.timeout_s, step=self.steps[p.step].name)
        self._turns[i] = (turn, now)
        step = self.steps[p.step]
        asked = turn.must_vote and not step.fails
        view = {"protocol": self.cfg.protocol, "step": step.name, "action": step.action or None,
                "compensation": step.compensation, "state": turn.part.state, "asked": turn.part.asked,
                "blocked": turn.part.blocked, "decide": ["vote", "part"] if asked else []}
        return AgentRequest(self.log.run_id, round, self.ids[i], self.role_of(i),
                            self.questions[p.step] if asked else None, msgs, None, None, self.name, view, self.name)

    def _coordinator_view(self, turn: rules.CoordinatorTurn) -> dict[str, Any]:
        c = turn.coord
        steps = []
        for s, step in enumerate(self.steps):
            answers = {self.ids[a]: (part if ok else "failed") for a, (ok, part) in c.answers[s].items()}
            steps.append({"name": step.name, "status": c.status(s), "answers": answers,
                          "asked": [self.ids[a] for a in c.active[s]]})
        return {"protocol": self.cfg.protocol, "phase": c.phase, "decision": c.decision, "steps": steps,
                "decide": ["decide"] if turn.must_decide else []}

    # --- applying replies -----------------------------------------------------------------
    def apply(self, round: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> float:
        self._said = {}
        replies, t_last = reply_ends(acting, t0, slots, self._ends)
        for i, t_end in replies:
            choices = self._record_reply(round, i, t0, t_end, slots)
            stash = self._turns.pop(i, None)
            if stash is None:
                continue
            turn, now = stash
            if i == self.boss:
                self._coordinate(round, i, turn, now, t0, t_end, choices)
            else:
                self._participate(round, i, turn, now, t0, t_end, choices, i in slots.failures)
        return t_last

    def _record_reply(self, r: int, i: int, t0: float, t_end: float, slots: RoundReplySlots) -> dict[str, Any]:
        self._reply_seq[i], spent, choices = log_choices(self.log, r, self.ids[i], i, t0, t_end, slots,
                                                         {"role": self.role_of(i)})
        self.cost_used += spent
        return choices

    def _coordinate(self, r: int, i: int, turn: rules.CoordinatorTurn, now: float, t0: float, t_end: float,
                    choices: dict[str, Any]) -> None:
        decision = choices.get("decide")
        if decision not in (None, "commit", "abort"):
            self._refused(r, i, t0, t_end, "decide", f"{str(decision)[:40]!r} is neither commit nor abort")
            decision = None
        out = rules.act(turn, decision, now, self.cfg.timeout_s)
        self.coord = out.coord
        for kind, peer, value, detail in out.happened:
            self._coordinator_event(r, i, t0, t_end, kind, peer, value, detail)
        self._queue(i, out.records)

    def _coordinator_event(self, r: int, i: int, t0: float, t_end: float, kind: str, peer: int | None, value: str,
                           detail: dict[str, Any]) -> None:
        correct = None
        if kind in ("BackupTookOver", "LateCompletion"):
            value = self.steps[int(value)].name
        if "primary" in detail:
            detail = {**detail, "primary": self.ids[detail["primary"]]}
        for key in ("missing", "compensated"):
            if key in detail:
                detail = {**detail, key: [self.steps[s].name for s in detail[key]]}
        if "reason" in detail:  # the rules count steps from 0; people read their names
            detail = {**detail, "reason": _STEP.sub(lambda m: f"step {self.steps[int(m[1])].name!r}",
                                                    detail["reason"])}
        if kind == "TransactionEnded":
            detail = {**detail, "parts": self.coord.chosen}
            correct = self._correct(value)
            self.ended = (value, correct)
        self.log.add(event_class(kind), r, self.ids[i], self.ids[peer] if peer is not None else None, t_start=t0,
                     t_end=t_end, value=value, correct=correct, detail=json.dumps(detail, separators=(",", ":")),
                     cause=int(self._reply_seq[i]))

    def _correct(self, outcome: str) -> bool | None:
        """Whether the output is right: every part used is its question's answer (``None``
        when some step is not graded, or nothing was output)."""
        if outcome not in _SUCCESS and outcome != "partial":
            return None
        graded = [(part, q) for part, q in zip(self.coord.chosen, self.questions)]
        if any(q is None for _, q in graded):
            return None
        return outcome != "partial" and all(part == q.answer for part, q in graded)

    def _participate(self, r: int, i: int, turn: member.ParticipantTurn, now: float, t0: float, t_end: float,
                     choices: dict[str, Any], call_failed: bool) -> None:
        s = self.parts[i].step
        vote, part = choices.get("vote"), choices.get("part")
        vote = "yes" if vote is True or vote == "yes" else ("no" if vote is not None else None)
        q = self.questions[s]
        if vote == "yes" and q is not None and part not in q.options:
            self._refused(r, i, t0, t_end, "part", f"{str(part)[:40]!r} is not an option of its question")
            vote = "no"
        p, records, happened = member.act(turn, vote, part if isinstance(part, str) else None, now,
                                          protocol=self.cfg.protocol, timeout=self.cfg.timeout_s,
                                          step=self.steps[s].name, scripted_failure=self.steps[s].fails,
                                          call_failed=call_failed)
        self.parts[i] = p
        for kind, value, detail in happened:
            right = detail.get("part") == q.answer if q is not None and detail.get("part") is not None else None
            self.log.add(event_class(kind), r, self.ids[i], self.ids[self.boss] if kind == "Blocked" else None,
                         t_start=t0, t_end=t_end, value=value, correct=right,
                         detail=json.dumps(detail, separators=(",", ":")), cause=int(self._reply_seq[i]))
        self._queue(i, [{**rec, "to": [self.boss]} for rec in records])

    def _refused(self, r: int, i: int, t0: float, t_end: float, choice: str, reason: str) -> None:
        self.log.add(event_class("ActionRefused"), r, self.ids[i], t_start=t0, t_end=t_end, value=choice,
                     detail=reason, cause=int(self._reply_seq[i]))

    def _queue(self, i: int, records: list[dict[str, Any]]) -> None:
        if records:
            self._said[i] = [{**rec, "to": [self.ids[j] for j in rec["to"]]} for rec in records]

    # --- the team's state -----------------------------------------------------------------
    def decide(self, round: int, alive: np.ndarray) -> Decision:
        c = self.coord
        if c.protocol == "two_phase":
            asked = [a for a in c.asked if alive[a]]
            done = c.decision is not None and all(self.parts[a].state in FINAL for a in asked)
        else:
            done = c.phase == "ended"
        outcome = self.ended[0] if self.ended else ""
        self.decision = Decision(int(outcome in _SUCCESS) if self.ended else -1, done, outcome if done else "")
        return self.decision

    def broadcast(self, round: int, acting: np.ndarray, slots: RoundReplySlots) -> Outgoing:
        senders = np.array(sorted(self._said), dtype=np.int64)
        texts = {i: envelope(recs) for i, recs in self._said.items()}
        values = {i: "+".join(sorted({rec["type"] for rec in recs})) for i, recs in self._said.items()}
        named = {i: tuple(sorted({self.index[a] for rec in recs for a in rec["to"]})) for i, recs in self._said.items()}
        return Outgoing(senders, np.full(self.n, -1, dtype=np.int64), np.zeros(self.n, dtype=np.int64), values, texts,
                        slots.tokens_out, self._reply_seq.copy(), named)

    def timers(self, round: int, acting: np.ndarray) -> dict[int, float]:
        """Wake the coordinator at its next deadline and prepared participants when their
        wait for the decision runs out."""
        out = {}
        for i in acting.tolist():
            due = self._next_deadline() if i == self.boss else (
                self.parts[i].deadline if self.parts[i].state == "prepared" else math.inf)
            if due != math.inf:
                out[i] = on_time_grid(max(0.0, due - self._ends.get(i, 0.0)))
        return out

    def _next_deadline(self) -> float:
        c = self.coord
        if c.phase == "compensating":
            return c.undo_deadline
        if c.phase in ("voting", "collecting"):
            return min((c.deadline[s] for s in range(len(self.slots)) if c.status(s) == "pending"), default=math.inf)
        if c.phase == "running":
            return c.deadline[c.current]
        return math.inf

    def outcome(self) -> tuple[str | None, bool | None]:
        """The transaction's outcome (``blocked`` while a participant waits, undecided)."""
        if self.ended is not None:
            return self.ended
        if any(p.blocked and p.state == "prepared" for p in self.parts.values()):
            return "blocked", None
        return None, None

    def agreement(self, alive: np.ndarray) -> float:
        """Share of live agents that know the outcome (the coordinator once it decided,
        participants once final)."""
        live = np.flatnonzero(alive).tolist()
        know = sum(1 for i in live if (self.coord.decision is not None if i == self.boss
                                       else self.parts[i].state in FINAL + ("done",)))
        return know / len(live) if live else 0.0

    def state(self) -> dict[str, Any]:
        """Per agent, for UIs: its role, step, state (the coordinator's phase), part and a badge."""
        out: dict[str, Any] = {}
        for i, aid in enumerate(self.ids):
            if i == self.boss:
                c = self.coord
                badge = c.decision or c.phase
                out[aid] = {"answer": None, "confidence": None, "role": "coordinator", "step": None,
                            "state": c.phase, "decision": c.decision, "badge": f"coordinator: {badge}"}
                continue
            p = self.parts[i]
            shown = "blocked" if p.blocked and p.state == "prepared" else p.state
            out[aid] = {"answer": p.part, "confidence": None, "role": self.role_of(i), "step": self.steps[p.step].name,
                        "state": shown, "badge": f"{self.steps[p.step].name}: {shown}"}
        return out
