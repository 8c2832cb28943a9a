"""The gossip workload: one value spreading through a team, epidemic style.

The ``sources`` answer the question themselves; everyone else learns the answer from
peers. Each agent holds one value (an option of the question, or none yet) and, each
turn, reads its mailbox — rumours (a peer's value) and pull requests — and says what it
holds now (the reply's answer; the rules let it hold only what it held, what it was
told, or, as a source, its own answer). Then its code sends:

* push / push_pull: an informed agent sends its value to ``fanout`` peers drawn at
  random from its out-neighbours (``gossip.peers``) — every round in synchronous runs,
  when it becomes informed and then every ``period_s`` in asynchronous ones — for
  ``ttl`` rounds at most when set (rumour mongering);
* pull / push_pull: an uninformed agent asks ``fanout`` random peers, each round (or
  ``period_s``); an informed agent answers every pull request it read with its value.

An agent's messages of one turn are one envelope to all its recipients (a rumour, or a
pull request). A failed call loses the agent's choice, not its code: it keeps what it
held and still gossips. ``Informed`` is logged when an agent first holds the value (``peer``:
who told it, ``hops`` from a source). The run is done when every live agent holds a
value (``all_informed``), or, once nobody has anything left to send, ``gossip_ended``
(rumour mongering can leave agents uninformed: its *residue*).

Synchronous rounds are the classical model: messages sent in round r are read in round
r + 1, so push gossip on a complete graph with fanout 1 reaches everyone in about
log2 n + ln n rounds (Frieze and Grimmett 1985, Pittel 1987). Only agents with
something to do act in a round (informed pushers, uninformed pullers, receivers).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from llmteams_lab.backends.base import RoundBatch
from llmteams_lab.events import AgentReplied, event_class, on_time_grid
from llmteams_lab.messages import AgentRequest
from llmteams_lab.protocols import Decision, held_agreement
from llmteams_lab.rounds import Inbox, Outgoing, RoundReplySlots, woken_by
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads.gossip.peers import Others, pick, round_table, turn_uniforms
from llmteams_lab.workloads.roles import envelope, log_failure, question_at, reply_ends

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.log import EventLog, LogMode

__all__ = ["Gossip"]

_RUMOUR = envelope([{"type": "rumour"}])
_PULL = envelope([{"type": "pull"}])


class Gossip:
    """Who holds the value, who told whom, and what each agent sends (module docstring)."""

    name = "gossip"

    def __init__(self, spec: TeamSpec, log: "EventLog", mode: "LogMode | None" = None):
        self.spec, self.log, self.cfg = spec, log, spec.task.gossip
        self.ids, self.n = spec.ids, len(spec.agents)
        self.index = {a: i for i, a in enumerate(self.ids)}
        self.question = question_at(spec.task, self.cfg.question, 0, spec.seed)
        self.options = self.question.options
        self.truth = self.options.index(self.question.answer)
        self.outs = _out_lists(spec)
        self.held = np.full(self.n, -1, dtype=np.int64)
        self.hops = np.full(self.n, -1, dtype=np.int64)
        self.source = np.zeros(self.n, dtype=bool)
        self.source[: self.cfg.sources] = True
        self.pushes = np.zeros(self.n, dtype=np.int64)
        self.push = self.cfg.mode in ("push", "push_pull")
        self.pull = self.cfg.mode in ("pull", "push_pull")
        self.sync = spec.execution == "synchronous"
        self.next_gossip = np.zeros(self.n, dtype=np.float64)  # asynchronous: when each agent next gossips
        self._turns = np.zeros(self.n, dtype=np.int64)
        self._heard: dict[int, tuple[list[tuple[int, int]], list[int]]] = {}
        self._asked: dict[int, set[int]] = {}
        self._said: dict[int, list[int]] = {}
        self._ends: dict[int, float] = {}
        self._next: set[int] = set()
        self._reply_seq = np.full(self.n, -1, dtype=np.int64)
        self._table: tuple[int, np.ndarray] | None = None
        self.decision = Decision(-1)
        self.cost_used = 0.0

    # --- what agents see ------------------------------------------------------------------
    def acting(self, round: int, alive: np.ndarray) -> np.ndarray:
        """Synchronous rounds: sources first; then informed pushers with pushes left,
        uninformed pullers and every agent sent a message last round."""
        who = np.zeros(self.n, dtype=bool)
        if round == 1:
            who |= self.source
        informed = self.held >= 0
        if self.push:
            who |= informed & self._may_push()
        if self.pull:
            who |= ~informed
        if self._next:
            who[list(self._next)] = True
        return np.flatnonzero(who & alive)

    def _may_push(self) -> np.ndarray:
        return np.ones(self.n, dtype=bool) if self.cfg.ttl is None else self.pushes < self.cfg.ttl

    def batch(self, round: int, acting: np.ndarray, inbox: Inbox) -> RoundBatch:
        for i in acting.tolist():
            self._read(i, inbox)
        return RoundBatch(self.log.run_id, round, self.question, self.name, acting, self.held.copy(), inbox.votes,
                          inbox.weight, inbox.size, {"sources": self.source})

    def _read(self, i: int, inbox: Inbox) -> None:
        """What agent ``i`` read: rumours (sender, option) in arrival order, pull requests."""
        rumours, pulls = [], []
        for m in inbox.messages(i, self.ids, self.options):
            s = self.index.get(m.sender)
            if s is None:
                continue
            if m.answer is not None:
                rumours.append((s, self.options.index(m.answer)))
            elif '"pull"' in (m.text or ""):
                pulls.append(s)
        self._heard[i] = (rumours, pulls)

    def request(self, round: int, i: int, inbox: Inbox) -> AgentRequest:
        self._read(i, inbox)
        rumours, pulls = self._heard[i]
        held = int(self.held[i])
        view = {"held": self.options[held] if held >= 0 else None, "source": bool(self.source[i]),
                "mode": self.cfg.mode, "rumours": [{"from": self.ids[s], "value": self.options[a]} for s, a in rumours],
                "pull_requests": [self.ids[s] for s in pulls], "decide": ["hold"]}
        return AgentRequest(self.log.run_id, round, self.ids[i], "gossiper", self.question,
                            inbox.messages(i, self.ids, self.options), view["held"], None, self.name, view, self.name)

    # --- applying replies -----------------------------------------------------------------
    def apply(self, round: int, t0: float, acting: np.ndarray, slots: RoundReplySlots) -> float:
        self._said = {}
        replies, t_last = reply_ends(acting, t0, slots, self._ends)
        for i, t_end in replies:
            rumours, pulls = self._heard.pop(i, ([], []))
            if i in slots.failures:  # its mind failed: it holds what it held; its code still gossips
                self._failed(round, i, t0, t_end, slots)
            else:
                self._hold(round, i, t0, t_end, int(slots.answer[i]), rumours, slots)
            self._send(round, i, t0, pulls)
        return t_last

    def _failed(self, r: int, i: int, t0: float, t_end: float, slots: RoundReplySlots) -> None:
        self._reply_seq[i], spent = log_failure(self.log, r, self.ids[i], i, t0, t_end, slots)
        self.cost_used += spent

    def _hold(self, r: int, i: int, t0: float, t_end: float, a: int, rumours: list[tuple[int, int]],
              slots: RoundReplySlots) -> None:
        """Record agent ``i``'s reply and the value it now holds (if the rules allow it)."""
        held = int(self.held[i])
        reply = slots.replies.get(i)
        cost = reply.cost_usd if reply is not None else 0.0
        self.cost_used += cost or 0.0
        seq = self._reply_seq[i] = self.log.add(
            AgentReplied, r, self.ids[i], t_start=t0, t_end=t_end, value=self.options[a] if a >= 0 else None,
            tokens_in=int(slots.tokens_in[i]), tokens_out=int(slots.tokens_out[i]), cost_usd=cost,
            fault=slots.marks.get(i), cause=woken_by(slots, i)).seq
        told = [s for s, v in rumours if v == a]
        if a < 0 or a == held:
            return
        if not told and not (self.source[i] and held < 0):
            self.log.add(event_class("ActionRefused"), r, self.ids[i], t_start=t0, t_end=t_end, value="hold",
                         detail=f"nobody told it {self.options[a]!r}", cause=int(seq))
            return
        self.held[i] = a
        if held >= 0:
            return
        informer = told[0] if told else None
        self.hops[i] = 0 if informer is None else int(self.hops[informer]) + 1
        how = "source" if informer is None else ("pull" if informer in self._asked.get(i, ()) else "push")
        self.log.add(event_class("Informed"), r, self.ids[i], self.ids[informer] if informer is not None else None,
                     t_start=t0, t_end=t_end, value=self.options[a], correct=a == self.truth,
                     detail=json.dumps({"hops": int(self.hops[i]), "how": how}), cause=int(seq))

    def _send(self, r: int, i: int, t0: float, pulls: list[int]) -> None:
        """Whom agent ``i`` tells what it holds, or asks (see the module docstring)."""
        self._turns[i] += 1
        due = self.sync or on_time_grid(t0) >= self.next_gossip[i]  # a timer may wake one float step short
        recipients = set(pulls) if self.held[i] >= 0 else set()
        k = self.cfg.fanout
        if self.held[i] >= 0 and self.push and due and (self.cfg.ttl is None or self.pushes[i] < self.cfg.ttl):
            recipients.update(pick(self.outs[i], self._uniforms(r, i, k)))
            self.pushes[i] += 1
            self.next_gossip[i] = on_time_grid(self._ends[i] + self.cfg.period_s)
        elif self.held[i] < 0 and self.pull and due:
            asked = pick(self.outs[i], self._uniforms(r, i, k))
            self._asked[i] = set(asked)
            recipients.update(asked)
            self.next_gossip[i] = on_time_grid(self._ends[i] + self.cfg.period_s)
        if recipients:
            self._said[i] = sorted(recipients)

    def _uniforms(self, r: int, i: int, k: int) -> np.ndarray:
        if not self.sync:
            return turn_uniforms(self.spec.seed, i, int(self._turns[i]), k)
        if self._table is None or self._table[0] != r:
            self._table = (r, round_table(self.spec.seed, r, self.n, k))
        return self._table[1][i]

    # --- the team's state -----------------------------------------------------------------
    def decide(self, round: int, alive: np.ndarray) -> Decision:
        informed = self.held >= 0
        modal = int(np.bincount(self.held[informed], minlength=len(self.options)).argmax()) if informed.any() else -1
        if not (~informed & alive).any():
            self.decision = Decision(modal, True, "all_informed")
        elif self.sync and not self._said and not self._busy(alive):
            self.decision = Decision(modal, True, "gossip_ended")
        else:
            self.decision = Decision(modal)
        return self.decision

    def _busy(self, alive: np.ndarray) -> bool:
        """Whether some live agent still gossips of its own accord (pushes left, or pulling)."""
        informed = self.held >= 0
        who = (informed & self._may_push()) if self.push else np.zeros(self.n, dtype=bool)
        if self.pull:
            who |= ~informed
        return bool((who & alive).any())

    def broadcast(self, round: int, acting: np.ndarray, slots: RoundReplySlots) -> Outgoing:
        senders = np.array(sorted(self._said), dtype=np.int64)
        held = self.held
        values = {i: self.options[held[i]] if held[i] >= 0 else None for i in self._said}
        texts = {i: _RUMOUR if held[i] >= 0 else _PULL for i in self._said}
        named = {i: tuple(r) for i, r in self._said.items()}
        self._next = {j for r in self._said.values() for j in r}
        return Outgoing(senders, held.copy(), np.zeros(self.n, dtype=np.int64), values, texts, slots.tokens_out,
                        self._reply_seq.copy(), named)

    def timers(self, round: int, acting: np.ndarray) -> dict[int, float]:
        """Asynchronous runs: wake each agent when it next gossips (pushers with pushes
        left, pullers still uninformed)."""
        out = {}
        may_push = self._may_push()
        for i in acting.tolist():
            informed = self.held[i] >= 0
            if (informed and self.push and may_push[i]) or (not informed and self.pull):
                out[i] = on_time_grid(max(0.0, float(self.next_gossip[i]) - self._ends.get(i, 0.0)))
        return out

    def outcome(self) -> tuple[str | None, bool | None]:
        """The value most agents hold, and whether it is the truth."""
        d = self.decision.value
        return (self.options[d], d == self.truth) if d >= 0 else (None, None)

    def agreement(self, alive: np.ndarray) -> float:
        """Share of live agents holding the most held value (uninformed agents count)."""
        modal, counted = held_agreement(self.held, alive)
        return modal / counted if counted else 0.0

    def state(self) -> dict[str, Any]:
        """Per agent, for UIs: the value it holds, its hops from a source, a ``badge``."""
        opts = self.options
        return {aid: {"answer": opts[h] if h >= 0 else None, "confidence": None, "hops": int(d) if d >= 0 else None,
                      "source": bool(s), "badge": "source" if s else (f"{d} hop{'' if d == 1 else 's'}" if d >= 0 else "")}
                for aid, h, d, s in zip(self.ids, self.held.tolist(), self.hops.tolist(), self.source.tolist())}


def _out_lists(spec: TeamSpec) -> list[Any]:
    """Each agent's out-neighbours; on a complete graph, :class:`Others` (no n² lists)."""
    n = len(spec.agents)
    if spec.topology.kind == "complete":
        return [Others(i, n) for i in range(n)]
    outs: list[list[int]] = [[] for _ in range(n)]
    for a, b in spec.arcs():
        outs[a].append(b)
    return outs
