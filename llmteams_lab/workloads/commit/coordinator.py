"""The coordinator's rules, pure: asking for the parts, deciding, compensating.

two_phase   send ``prepare`` to every step's agents; a step is *ok* once its vote is
            yes (N-version: a majority of its replicas voted yes with the same part),
            *failed* on a no (or once a majority can no longer form), and a step
            silent for ``timeout_s`` fails — or, with a backup, is handed to it
            (``BackupTookOver``) and waits again. Any failed step: abort. Every step
            ok: the agent may still veto, else commit. The decision is durable; it
            goes to every agent asked (``commit`` to those whose part is used,
            ``release`` to the others, or ``abort``), again to any who asks.
saga        steps one after another (``execute``); the last one done and the agent's
            consent: committed. A failed or silent step: the completed steps are
            compensated one at a time in reverse order, each until confirmed (resent
            every timeout) — the failed step's own done work first (replicas that did
            it, an agent that went silent and may have done it unheard). A completion nobody will use (a replaced primary's, or one after
            its step was undone) is compensated at once.
best_effort every step asked at once; when none is pending, whatever parts are ok are
            published (the baseline: ``partial`` when some are missing).

Atomicity, the property two-phase commit exists for, is a statement about these rules:
no decision to commit unless every step is ok, one decision only, and the same one to
everybody.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Coordinator", "CoordinatorTurn", "act", "read", "start"]


@dataclass
class Coordinator:
    """The coordinator's state. ``slots[s]``: step s's agents (replicas, or primary then
    backup); ``active[s]``: those asked so far."""

    protocol: str
    slots: list[list[int]]
    replicas: int
    backup: bool
    phase: str = "start"
    active: list[list[int]] = field(default_factory=list)
    answers: list[dict[int, tuple[bool, str | None]]] = field(default_factory=list)
    deadline: list[float] = field(default_factory=list)
    current: int = 0
    completed: list[int] = field(default_factory=list)  # saga: steps done, in order
    undo: list[int] = field(default_factory=list)  # saga: steps left to compensate, next first
    undo_deadline: float = math.inf
    confirmed: set[tuple[int, int]] = field(default_factory=set)  # (step, agent) compensations confirmed
    given_up: set[int] = field(default_factory=set)  # steps failed by silence
    decision: str | None = None
    reason: str = ""
    chosen: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        m = len(self.slots)
        self.active = self.active or [[] for _ in range(m)]
        self.answers = self.answers or [{} for _ in range(m)]
        self.deadline = self.deadline or [math.inf] * m
        self.chosen = self.chosen or [None] * m

    def copy(self) -> "Coordinator":
        return copy.deepcopy(self)

    @property
    def asked(self) -> list[int]:
        return sorted({a for agents in self.active for a in agents})

    def status(self, s: int) -> str:
        """``ok``, ``failed`` or ``pending`` (see the module docstring); sets ``chosen[s]``."""
        answers = self.answers[s]
        if s in self.given_up:
            return "failed"
        if self.replicas > 1:
            parts = Counter(p for ok, p in answers.values() if ok)
            need = self.replicas // 2 + 1
            top = max(parts.values(), default=0)
            if top >= need:
                self.chosen[s] = min(p for p, c in parts.items() if c == top)
                return "ok"
            return "failed" if top + self.replicas - len(answers) < need else "pending"
        agent = self.active[s][-1] if self.active[s] else None
        if agent not in answers:
            return "pending"
        ok, part = answers[agent]
        self.chosen[s] = part if ok else None
        return "ok" if ok else "failed"


@dataclass
class CoordinatorTurn:
    """The coordinator after reading: state, records, happenings (kind, peer, value,
    detail), and whether its agent is asked to decide (commit or abort)."""

    coord: Coordinator
    records: list[dict[str, Any]] = field(default_factory=list)
    happened: list[tuple[str, int | None, str, dict[str, Any]]] = field(default_factory=list)
    must_decide: bool = False


def start(c: Coordinator, turn: CoordinatorTurn, now: float, timeout: float) -> None:
    """The first turn: ask the first step (saga) or every step (others)."""
    if c.phase != "start":
        return
    first = [0] if c.protocol == "saga" else range(len(c.slots))
    for s in first:
        _ask(c, turn, s, now, timeout)
    c.phase = {"two_phase": "voting", "saga": "running", "best_effort": "collecting"}[c.protocol]


def _ask(c: Coordinator, turn: CoordinatorTurn, s: int, now: float, timeout: float, agents: list[int] | None = None) -> None:
    agents = agents if agents is not None else (c.slots[s][:1] if c.backup else list(c.slots[s]))
    c.active[s] = c.active[s] + agents
    c.deadline[s] = now + timeout
    turn.records.append({"type": "prepare" if c.protocol == "two_phase" else "execute", "step": s, "to": agents})


def read(c: Coordinator, records: list[tuple[int, dict[str, Any]]], now: float, timeout: float) -> CoordinatorTurn:
    """Apply the participants' records ((sender, record)) to a copy of ``c`` at ``now``."""
    turn = CoordinatorTurn(c.copy())
    c = turn.coord
    start(c, turn, now, timeout)
    for sender, record in records:
        s = record.get("step")
        if not isinstance(s, int) or not 0 <= s < len(c.slots) or sender not in c.slots[s]:
            continue
        kind = record["type"]
        if kind in ("vote", "result"):
            ok = record.get("vote") == "yes" if kind == "vote" else record.get("ok") is True
            part = record.get("part") if isinstance(record.get("part"), str) else None
            _answer(c, turn, s, sender, ok, part, now, timeout)
        elif kind == "compensated":
            c.confirmed.add((s, sender))
        elif kind == "status" and c.decision is not None and c.protocol == "two_phase":
            turn.records.append({"type": "decision", "outcome": _outcome_for(c, s, sender), "to": [sender]})
    _progress(c, turn, now, timeout)
    return turn


def _answer(c: Coordinator, turn: CoordinatorTurn, s: int, agent: int, ok: bool, part: str | None, now: float,
            timeout: float) -> None:
    if agent in c.answers[s]:
        return
    c.answers[s][agent] = (ok, part)
    in_chain = c.phase == "compensating" and s in c.undo  # the chain will undo it (its agents are awaited)
    unused = (c.backup and agent != c.active[s][-1]) or (c.phase in ("compensating", "ended") and not in_chain)
    if c.protocol == "saga" and ok and unused:  # a late completion: undo it at once
        turn.records.append({"type": "compensate", "step": s, "to": [agent]})
        turn.happened.append(("LateCompletion", agent, str(s), {}))


def _progress(c: Coordinator, turn: CoordinatorTurn, now: float, timeout: float) -> None:
    if c.protocol == "two_phase" and c.phase == "voting":
        states = [_due(c, turn, s, now, timeout) for s in range(len(c.slots))]
        if "failed" in states:
            bad = states.index("failed")
            _decide(c, turn, "abort", f"step {bad} failed")
        elif all(st == "ok" for st in states):
            turn.must_decide = True
    elif c.protocol == "saga" and c.phase == "running":
        _saga_step(c, turn, now, timeout)
    elif c.protocol == "saga" and c.phase == "compensating":
        _compensation(c, turn, now, timeout)
    elif c.protocol == "best_effort" and c.phase == "collecting":
        states = [_due(c, turn, s, now, timeout) for s in range(len(c.slots))]
        if "pending" not in states:
            missing = [s for s, st in enumerate(states) if st != "ok"]
            c.phase = "ended"
            c.decision = "partial" if missing else "published"
            turn.happened.append(("TransactionEnded", None, c.decision, {"missing": missing}))


def _due(c: Coordinator, turn: CoordinatorTurn, s: int, now: float, timeout: float) -> str:
    """Step s's status, after handing a silent primary's step to its backup or failing it."""
    st = c.status(s)
    if st != "pending" or now < c.deadline[s]:
        return st
    if c.backup and len(c.active[s]) == 1:
        primary, backup = c.slots[s]
        turn.happened.append(("BackupTookOver", backup, str(s), {"primary": primary, "silent_s": timeout}))
        _ask(c, turn, s, now, timeout, [backup])
        return "pending"
    c.given_up.add(s)
    return "failed"


def _saga_step(c: Coordinator, turn: CoordinatorTurn, now: float, timeout: float) -> None:
    s = c.current
    st = _due(c, turn, s, now, timeout)
    if st == "ok":
        c.completed.append(s)
        if s + 1 < len(c.slots):
            c.current = s + 1
            _ask(c, turn, s + 1, now, timeout)
            _saga_step(c, turn, now, timeout)
        else:
            turn.must_decide = True
    elif st == "failed":
        _decide(c, turn, "abort", f"step {s} failed")


def _compensation(c: Coordinator, turn: CoordinatorTurn, now: float, timeout: float) -> None:
    while c.undo:
        s = c.undo[0]
        need = _to_undo(c, s)
        if all((s, a) in c.confirmed for a in need):
            c.undo.pop(0)
            c.undo_deadline = math.inf
            continue
        if now >= c.undo_deadline or c.undo_deadline == math.inf:
            waiting = [a for a in need if (s, a) not in c.confirmed]
            turn.records.append({"type": "compensate", "step": s, "to": waiting})
            c.undo_deadline = now + timeout
        return
    c.phase = "ended"
    turn.happened.append(("TransactionEnded", None, "aborted", {"compensated": c.completed[::-1]}))


def _to_undo(c: Coordinator, s: int) -> list[int]:
    """The agents whose work on step s must be undone before an aborted saga ends: those
    that reported it done (on a failed step too: replicas that did it while the step found
    no majority) and every agent asked that has not answered — it may have done the work
    unheard, or be doing it now. Undoing work never done is harmless (the participant
    then never starts it); leaving done work is not. An agent that never comes back keeps
    the saga compensating: a compensation needs its participant."""
    asked = set(c.active[s])
    done = {a for a, (ok, _) in c.answers[s].items() if ok}
    return sorted(done | (asked - set(c.answers[s])))


def _decide(c: Coordinator, turn: CoordinatorTurn, decision: str, reason: str) -> None:
    c.decision, c.reason = decision, reason
    turn.happened.append(("Decided", None, decision, {"reason": reason}))
    if c.protocol == "two_phase":
        c.phase = "decided"
        for s, agents in enumerate(c.active):
            for a in agents:
                turn.records.append({"type": "decision", "outcome": _outcome_for(c, s, a), "to": [a]})
        turn.happened.append(("TransactionEnded", None, "committed" if decision == "commit" else "aborted",
                              {"reason": reason}))
    elif decision == "commit":
        c.phase = "ended"
        turn.happened.append(("TransactionEnded", None, "committed", {"reason": reason}))
    else:
        c.phase = "compensating"
        failed = c.current if c.current not in c.completed else None  # a vetoed saga failed no step
        c.undo = ([failed] if failed is not None and _to_undo(c, failed) else []) + c.completed[::-1]
        c.undo_deadline = math.inf


def _outcome_for(c: Coordinator, s: int, agent: int) -> str:
    """What the decision means for agent ``agent`` of step ``s``."""
    if c.decision != "commit":
        return "abort"
    ok, part = c.answers[s].get(agent, (False, None))
    return "commit" if ok and part == c.chosen[s] and (c.replicas > 1 or agent == c.active[s][-1]) else "release"


def act(turn: CoordinatorTurn, decision: str | None, now: float, timeout: float) -> CoordinatorTurn:
    """The coordinator's turn with its agent's decision (``commit``, ``abort`` or none:
    commit when the rules allow it)."""
    out = CoordinatorTurn(turn.coord.copy(), list(turn.records), list(turn.happened))
    c = out.coord
    if turn.must_decide:
        if decision == "abort":
            _decide(c, out, "abort", "the coordinator vetoed")
        else:
            _decide(c, out, "commit", "every step ok")
    if c.protocol == "saga" and c.phase == "compensating":
        _compensation(c, out, now, timeout)
    return out
