"""What the lab remembers of each round: the team's state and the round's messages.

Why a history: the round scrubber shows any past round — node colours, crashed agents,
the messages that flew — without re-running anything. A :class:`RoundState` is built
once, when the round's events arrive, from those events (the one-way data flow: the UI
reads events, never engine internals) plus the run's public per-agent snapshot
(``run.state()``, which also works with aggregated logging).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence

from llmteams_lab.events import Event
from llmteams_lab.spec.faults import DOWN_KINDS

__all__ = ["FaultNote", "MessageRow", "RoundState", "collect_messages", "fault_notes", "next_state"]

_FATES = {"MessageDelivered": "delivered", "MessageDropped": "dropped", "MessageDelayed": "delayed"}
_CRASH = DOWN_KINDS
_LINK_KINDS = ("corrupt", "delay", "drop", "duplicate", "partition", "reorder")


class MessageRow(NamedTuple):
    """One message of a round, as the message table shows it."""

    sender: str
    receiver: str
    content: str
    tokens: int
    latency: float | None
    fault: str | None
    status: str  # delivered | dropped | delayed | sent


class FaultNote(NamedTuple):
    """One line of the fault log."""

    round: int
    kind: str  # the event kind, or "injected" for a live injection
    fault: str
    agent: str | None
    peer: str | None
    detail: str
    phase: str | None = None  # FaultApplied: "start" or "end" of the fault's window


@dataclass(frozen=True)
class RoundState:
    """The team after ``round`` (0: before the first round) and that round's messages."""

    round: int
    answers: tuple[str | None, ...]
    confidence: tuple[float, ...]
    states: tuple[str, ...]  # alive | failed | crashed, per agent
    faults: tuple[tuple[str, ...], ...]  # fault kinds that touched each agent so far
    messages: tuple[MessageRow, ...] = ()
    aggregated_messages: int = 0  # messages counted by aggregated rows (no per-message rows)
    decision: str | None = None
    correct: bool | None = None
    notes: tuple[FaultNote, ...] = field(default=())
    links: tuple[tuple[str, str, str], ...] = ()  # (agent, agent, fault kind) of faulty links
    _active: tuple[str, ...] = ()  # FaultApplied details of link faults still in force

    @classmethod
    def initial(cls, ids: Sequence[str]) -> "RoundState":
        n = len(ids)
        return cls(0, (None,) * n, (0.0,) * n, ("alive",) * n, ((),) * n)


def collect_messages(events: Sequence[Event]) -> tuple[tuple[MessageRow, ...], int]:
    """The messages of a round's events, each with its fate; plus aggregated counts."""
    rows: list[list[Any]] = []
    open_sent: dict[tuple[str, str], int] = {}
    aggregated = 0
    for e in events:
        if e.kind == "MessageSent":
            if e.agent is None:
                aggregated += e.count
                continue
            open_sent[(e.agent, e.peer)] = len(rows)
            content = e.detail if e.detail else f"answer: {e.value}"
            rows.append([e.agent, e.peer, content, e.tokens_out, None, e.fault, "sent"])
        elif e.kind in _FATES and e.agent is not None:
            at = open_sent.pop((e.agent, e.peer), None)
            if at is None:  # a delayed message arriving now
                rows.append([e.agent, e.peer, f"answer: {e.value} (held back)", e.tokens_out,
                             e.t_end - e.t_start, e.fault, _FATES[e.kind]])
                continue
            row = rows[at]  # a fate row carries the send time in t_start
            row[4] = e.t_end - e.t_start if e.kind == "MessageDelivered" else None
            row[5] = e.fault or row[5]
            row[6] = _FATES[e.kind]
    return tuple(MessageRow(*r) for r in rows), aggregated


def fault_notes(events: Sequence[Event]) -> tuple[FaultNote, ...]:
    """Fault-log lines of a round: applied faults, failures, dropped/delayed messages."""
    notes = []
    for e in events:
        if e.kind in ("FaultApplied", "AgentFailed", "MessageDropped", "MessageDelayed") or (
                e.kind == "MessageDelivered" and e.fault):
            phase = e.value if e.kind == "FaultApplied" else None
            notes.append(FaultNote(e.round, e.kind, e.fault or "", e.agent, e.peer, e.detail or "", phase))
    return tuple(notes)


def next_state(prev: RoundState, ids: Sequence[str], round: int, events: Sequence[Event],
               snapshot: dict[str, Any] | None, alive: Sequence[bool] | None) -> RoundState:
    """The state after ``round`` given the previous state and the round's events.

    ``snapshot`` is ``run.state()`` (answers, confidence, and with the fault injector
    ``alive`` and ``faults`` per agent): where it speaks it wins over the events, which
    are the fallback (and the only source for failures and link faults).
    """
    index = {a: i for i, a in enumerate(ids)}
    answers, confidence = list(prev.answers), list(prev.confidence)
    crashed = [s == "crashed" for s in prev.states]
    failed = [False] * len(ids)
    faults = [set(f) for f in prev.faults]
    active = set(prev._active)
    decision, correct = prev.decision, prev.correct
    for e in events:
        i = index.get(e.agent) if e.agent is not None else None
        if e.kind == "AgentReplied" and i is not None:
            answers[i] = e.value
            confidence[i] = _confidence(e.detail, confidence[i])
        elif e.kind == "AgentFailed" and i is not None:
            failed[i] = e.fault not in _CRASH
        elif e.kind == "FaultApplied" and e.fault in _LINK_KINDS:
            (active.add if e.value != "end" else active.discard)(e.detail or "")
        elif e.kind == "FaultApplied" and i is not None and e.fault:
            faults[i].add(e.fault)
            crashed[i] = (e.fault in _CRASH and e.value != "end") or (crashed[i] and e.fault not in _CRASH)
        elif e.kind == "RoundEnded":
            decision, correct = e.value, e.correct
    _apply_snapshot(snapshot or {}, index, answers, confidence, crashed, faults)
    if alive is not None:
        crashed = [c or not a for c, a in zip(crashed, alive)]
    states = tuple("crashed" if c else ("failed" if f else "alive") for c, f in zip(crashed, failed))
    messages, aggregated = collect_messages(events)
    return RoundState(round, tuple(answers), tuple(confidence), states, tuple(tuple(sorted(f)) for f in faults),
                      messages, aggregated, decision, correct, fault_notes(events), link_faults(ids, active),
                      tuple(sorted(active)))


def _apply_snapshot(snapshot: dict[str, Any], index: dict[str, int], answers: list, confidence: list,
                    crashed: list, faults: list) -> None:
    """Overwrite what the events said with the run's own per-agent snapshot, where given."""
    for aid, agent in snapshot.items():
        if aid in index and isinstance(agent, dict):
            i = index[aid]
            answers[i] = agent.get("answer", answers[i])
            confidence[i] = float(agent.get("confidence") or 0.0) if "confidence" in agent else confidence[i]
            crashed[i] = not agent["alive"] if "alive" in agent else crashed[i]
            faults[i] = set(agent["faults"]) if "faults" in agent else faults[i]


def link_faults(ids: Sequence[str], active: set[str]) -> tuple[tuple[str, str, str], ...]:
    """Pairs of agents whose link a network fault touches: a faulty link, or any pair a
    partition separates (agents in no group form one more group)."""
    order = {a: i for i, a in enumerate(ids)}
    out: set[tuple[str, str, str]] = set()
    for detail in active:
        try:
            fault = json.loads(detail)
        except ValueError:
            continue
        kind = fault.get("kind", "")
        if fault.get("link"):
            a, b = sorted(fault["link"], key=lambda x: order.get(x, -1))
            out.add((a, b, kind))
        elif kind == "partition":
            side = {a: g for g, members in enumerate(fault.get("groups", [])) for a in members}
            rest = len(fault.get("groups", []))
            for x in ids:
                for y in ids:
                    if order[x] < order[y] and side.get(x, rest) != side.get(y, rest):
                        out.add((x, y, kind))
    return tuple(sorted(out, key=lambda t: (order.get(t[0], -1), order.get(t[1], -1), t[2])))


def _confidence(detail: str | None, default: float) -> float:
    if not detail:
        return default
    try:
        value = json.loads(detail).get("confidence")
    except (ValueError, AttributeError):
        return default
    return float(value) if isinstance(value, (int, float)) else default
