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

__all__ = ["FaultNote", "MessageRow", "RoundState", "agent_roles", "collect_messages", "fault_notes", "next_state",
           "partition_sides", "suspected_counts", "work_activity"]

_FATES = {"MessageDelivered": "delivered", "MessageDropped": "dropped", "MessageDelayed": "delayed"}
_CRASH = DOWN_KINDS
_LINK_KINDS = ("corrupt", "delay", "drop", "duplicate", "partition", "reorder")
PAIRS_UP_TO = 60  # agents: above, a partition is not spelt out as pairs of agents (n² of them)
_WORK_KINDS = {"TaskClaimed": "working", "FileWritten": "working", "TestsRan": "working",
               "TaskCompleted": "completed", "ClaimBlocked": "blocked", "LockDenied": "blocked"}
_RANK = {"idle": 0, "working": 1, "blocked": 2, "completed": 3, "failed": 4}


class MessageRow(NamedTuple):
    """One message of a round, as the message table shows it.

    ``latency`` is the time in flight (delivery − send; a synchronous round delivers at
    its end, so a fast sender's message waits longest); ``sent_at`` is when it was sent,
    in seconds after the round began (a straggler's messages are sent late).
    """

    sender: str
    receiver: str
    content: str
    tokens: int
    latency: float | None
    fault: str | None
    status: str  # delivered | dropped | delayed | sent | receiver down
    sent_at: float | None = None


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
    sides: tuple[int, ...] = ()  # each agent's side of a partition in force (-1: in none); () if none
    activity: tuple[str, ...] = ()  # work division: working | completed | blocked | failed | idle
    suspected: tuple[int, ...] = ()  # asynchronous runs: how many peers' failure detectors suspect each agent
    time: float = 0.0  # the run's clock at the end of the round (an asynchronous run's virtual time)
    roles: tuple[str, ...] = ()  # coordination: leader | candidate | follower | coordinator | participant ...
    badges: tuple[str, ...] = ()  # coordination: "♛ t3", "coordinator: prepare", "part1: done" ... per agent

    @classmethod
    def initial(cls, ids: Sequence[str]) -> "RoundState":
        n = len(ids)
        return cls(0, (None,) * n, (0.0,) * n, ("alive",) * n, ((),) * n)


def collect_messages(events: Sequence[Event]) -> tuple[tuple[MessageRow, ...], int]:
    """The messages of a round's events, each with its fate; plus aggregated counts."""
    rows: list[list[Any]] = []
    open_sent: dict[tuple[str, str], int] = {}
    aggregated = 0
    start = next((float(e.t_start) for e in events if e.kind == "RoundStarted"), None)
    for e in events:
        if e.kind == "MessageSent":
            if e.agent is None:
                aggregated += e.count
                continue
            open_sent[(e.agent, e.peer)] = len(rows)
            content = e.detail if e.detail else f"answer: {e.value}"
            sent_at = None if start is None else round(float(e.t_start) - start, 6)
            rows.append([e.agent, e.peer, content, e.tokens_out, None, e.fault, "sent", sent_at])
        elif e.kind in _FATES and e.agent is not None:
            at = open_sent.pop((e.agent, e.peer), None)
            if at is None:  # a delayed message arriving now
                rows.append([e.agent, e.peer, f"answer: {e.value} (held back)", e.tokens_out,
                             round(e.t_end - e.t_start, 6), e.fault, _FATES[e.kind], None])
                continue
            row = rows[at]  # a fate row carries the send time in t_start
            row[4] = round(e.t_end - e.t_start, 6) if e.kind == "MessageDelivered" else None
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
    time = prev.time
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
            time = max(time, float(e.t_end))
    _apply_snapshot(snapshot or {}, index, answers, confidence, crashed, faults)
    if alive is not None:
        crashed = [c or not a for c, a in zip(crashed, alive)]
    states = tuple("crashed" if c else ("failed" if f else "alive") for c, f in zip(crashed, failed))
    messages, aggregated = collect_messages(events)
    down = {ids[i] for i, c in enumerate(crashed) if c}
    if down:  # a message "delivered" to an agent that is down was never read
        messages = tuple(m._replace(status="receiver down") if m.receiver in down and m.status == "delivered"
                         else m for m in messages)
    links = link_faults(ids, active) if len(ids) <= PAIRS_UP_TO else _link_only(ids, active)
    roles, badges = agent_roles(ids, snapshot or {}, prev)
    return RoundState(round, tuple(answers), tuple(confidence), states, tuple(tuple(sorted(f)) for f in faults),
                      messages, aggregated, decision, correct, fault_notes(events), links,
                      tuple(sorted(active)), partition_sides(ids, active), work_activity(ids, events, answers, states),
                      suspected_counts(ids, snapshot or {}), time, roles, badges)


def suspected_counts(ids: Sequence[str], snapshot: dict[str, Any]) -> tuple[int, ...]:
    """How many peers suspect each agent now, from the run's snapshot (its failure
    detector's ``suspects`` per agent); ``()`` when the run has no detector."""
    index = {a: i for i, a in enumerate(ids)}
    counts = [0] * len(ids)
    seen = False
    for agent in snapshot.values():
        if isinstance(agent, dict) and "suspects" in agent:
            seen = True
            for suspect in agent["suspects"]:
                if suspect in index:
                    counts[index[suspect]] += 1
    return tuple(counts) if seen else ()


def agent_roles(ids: Sequence[str], snapshot: dict[str, Any], prev: RoundState
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Each agent's role and badge in a coordination team (``run.state()``'s ``role`` and
    ``badge``: the leader's crown and term, a coordinator's phase, a participant's step);
    ``((), ())`` for teams whose workload has none. An agent the snapshot leaves out
    keeps what it had."""
    if not any(isinstance(a, dict) and "badge" in a for a in snapshot.values()):
        return prev.roles, prev.badges
    old_roles = prev.roles or ("",) * len(ids)
    old_badges = prev.badges or ("",) * len(ids)
    roles, badges = [], []
    for k, aid in enumerate(ids):
        agent = snapshot.get(aid)
        agent = agent if isinstance(agent, dict) else {}
        roles.append(str(agent.get("role") or old_roles[k]))
        badges.append(str(agent.get("badge") if "badge" in agent else old_badges[k]))
    return tuple(roles), tuple(badges)


def partition_sides(ids: Sequence[str], active: set[str]) -> tuple[int, ...]:
    """Each agent's side of the partition in force (agents in no group: one more side)."""
    for detail in sorted(active):
        try:
            fault = json.loads(detail)
        except ValueError:
            continue
        if fault.get("kind") == "partition":
            groups = fault.get("groups", [])
            side = {a: g for g, members in enumerate(groups) for a in members}
            return tuple(side.get(a, len(groups)) for a in ids)
    return ()


def work_activity(ids: Sequence[str], events: Sequence[Event], answers: Sequence[str | None],
                  states: Sequence[str]) -> tuple[str, ...]:
    """What each agent of a work-division team did this round (empty for deliberation)."""
    seen: dict[str, str] = {}
    work = False
    for e in events:
        if e.kind in _WORK_KINDS:
            work = True
        if e.agent is None or e.kind not in _WORK_KINDS:
            continue
        what = _WORK_KINDS[e.kind] if e.kind != "TestsRan" else ("failed" if e.correct is False else "working")
        if _RANK[what] > _RANK.get(seen.get(e.agent, "idle"), 0):
            seen[e.agent] = what
    if not work and not any(e.kind == "AgentReplied" and e.detail and '"actions"' in e.detail for e in events):
        return ()
    out = []
    for a, answer, state in zip(ids, answers, states):
        what = seen.get(a, "working" if answer else "idle")
        out.append("idle" if state == "crashed" else what)
    return tuple(out)


def _link_only(ids: Sequence[str], active: set[str]) -> tuple[tuple[str, str, str], ...]:
    """Large teams: link-targeted faults only (a partition is drawn by its sides)."""
    return link_faults(ids, {d for d in active if '"partition"' not in d})


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
