"""The per-round message table, the message reader and the fault log.

Why the table is an anywidget: a 20-agent all-to-all round has 380 messages and the lab
may play 20 rounds a second; sending rows as data (capped, the rest summarised) is the
cheapest thing the browser can render, and a click on a row comes back as ``selected``
so the lab can show that message in full (:func:`message_html`). Cells are set as text
in the page — message text comes from models and must not inject markup.

The fault log is grouped *per fault* (one line per fault with its window and what it
did — "drop on a0 — a1 · from round 3 · 14 messages dropped"), not one line per round of
dropped messages; backend failures are grouped per agent and kind. :func:`fault_groups`
builds those lines; the lab adds a recover/heal/undo button beside each fault in force.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any, Iterable, Sequence

import anywidget
import traitlets as t

from llmteams_lab.spec.faults import DOWN_KINDS, FaultSpec
from llmteams_lab.ui._assets import asset
from llmteams_lab.ui.history import FaultNote, MessageRow, RoundState

__all__ = ["FaultGroup", "MessageTable", "fault_groups", "fault_lines", "message_html", "message_rows",
           "message_table_html"]

MAX_ROWS = 120
_DROPS = ("MessageDropped", "MessageDelayed", "MessageDelivered")


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def message_rows(state: RoundState, limit: int = MAX_ROWS) -> list[list[Any]]:
    """Rows as the table widget draws them: ``[index, status, cells...]``."""
    return [[k, m.status, m.sender, m.receiver, _short(m.content), str(m.tokens), _seconds(m.sent_at),
             _seconds(m.latency), " ".join(x for x in (m.fault or "", "" if m.status == "delivered" else m.status)
                                           if x)]
            for k, m in enumerate(state.messages[:limit])]


def _empty_note(state: RoundState) -> str:
    if state.round == 0:
        return "no round yet — press Step or Play"
    if state.aggregated_messages:
        return f"{state.aggregated_messages:,} messages (aggregated logging: no per-message rows)"
    return "no messages this round"


def message_table_html(state: RoundState, limit: int = MAX_ROWS) -> str:
    """The same table as static HTML (for saved outputs, reports and tests)."""
    head = f"<div class='ltl-table-title'>Messages of round {state.round}</div>"
    if not state.messages:
        return head + f"<div class='ltl-muted'>{escape(_empty_note(state))}</div>"
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row[2:]) + "</tr>"
                   for row in message_rows(state, limit))
    more = len(state.messages) - limit
    tail = f"<div class='ltl-muted'>… and {more} more messages</div>" if more > 0 else ""
    return (head + "<table class='ltl-table'><thead><tr><th>sender</th><th>receiver</th><th>content</th>"
            "<th>tokens</th><th>sent at (s)</th><th>in flight (s)</th><th>fault / fate</th></tr></thead><tbody>"
            + body + "</tbody></table>" + tail)


def message_html(round: int, m: MessageRow, unit: str = "round") -> str:
    """One message in full: who sent what to whom, when, and what became of it."""
    when = "" if m.sent_at is None else f", sent {m.sent_at:.3f} s into the {unit}"
    flight = "" if m.latency is None else f", {m.latency:.3f} s in flight"
    fate = m.status + (f" ({m.fault})" if m.fault else "")
    return (f"<div class='ltl-message-detail'><b>{unit} {round}: {escape(m.sender)} → {escape(m.receiver)}</b> · "
            f"{escape(fate)} · {m.tokens} tokens{escape(when)}{escape(flight)}\n{escape(m.content)}</div>")


def _short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


class MessageTable(anywidget.AnyWidget):
    """The message table of one round; ``selected`` is the clicked message's index."""

    _esm = asset("message_table.js")

    title = t.Unicode("Messages of round 0").tag(sync=True)
    rows = t.List(t.List()).tag(sync=True)
    more = t.Int(0).tag(sync=True)
    note = t.Unicode("").tag(sync=True)
    selected = t.Int(-1).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = RoundState.initial(())
        self.unit = "round"  # "slice" for an asynchronous team (the lab sets it)
        self.add_class("ltl-messages-table")
        self.show(self.state)

    def show(self, state: RoundState) -> None:
        self.state = state
        with self.hold_sync():
            self.title = f"Messages of {self.unit} {state.round}"
            self.rows = message_rows(state)
            self.more = max(0, len(state.messages) - MAX_ROWS)
            self.note = _empty_note(state)
            self.selected = -1

    @property
    def value(self) -> str:
        """The table as HTML (what the page shows)."""
        return message_table_html(self.state)


# --- the fault log ------------------------------------------------------------------------
@dataclass
class FaultGroup:
    """One line of the fault log: a fault and what it did so far."""

    key: str  # the fault's JSON (its identity), or "failure:<agent>:<kind>" for failures
    text: str
    fault: FaultSpec | None = None  # set for faults the lab can end (recover, heal, undo)
    action: str = ""  # "recover" | "heal" | "undo" | "end" | ""


def fault_groups(notes: Iterable[FaultNote], in_force: Sequence[FaultSpec], round: int,
                 unit: str = "round") -> list[FaultGroup]:
    """The fault log, one group per fault (newest first), then failures per agent and kind
    (``unit``: what the run counts — ``"slice"`` for an asynchronous team)."""
    notes = list(notes)
    groups: list[FaultGroup] = []
    lost: Counter = Counter()
    for n in notes:
        if n.kind in _DROPS:
            lost[(n.fault, n.kind)] += 1
    for fault in reversed(list(in_force)):
        groups.append(_fault_group(fault, notes, lost, round, unit))
    failures: Counter = Counter()
    first: dict[tuple[str, str], int] = {}
    for n in notes:
        if n.kind == "AgentFailed" and n.fault not in DOWN_KINDS:
            failures[(n.agent or "", n.fault)] += 1
            first.setdefault((n.agent or "", n.fault), n.round)
    for (agent, kind), count in failures.items():
        groups.append(FaultGroup(f"failure:{agent}:{kind}",
                                 f"{agent} failed ({kind}) {count}× since {unit} {first[(agent, kind)]}"))
    for n in notes:
        if n.kind == "ended":
            groups.append(FaultGroup(f"ended:{n.round}:{n.fault}:{n.agent}", f"{unit} {n.round}: {n.fault} on "
                                     f"{n.agent or 'the team'}{' — ' + n.peer if n.peer else ''} {n.detail}"))
    return groups


def _fault_group(fault: FaultSpec, notes: list[FaultNote], lost: Counter, round: int, unit: str) -> FaultGroup:
    key = json.dumps(fault.to_dict(), sort_keys=True)
    who = _target(fault)
    window = f"from {unit} {fault.first_round}"
    last = fault.last_round
    if fault.kind == "crash_recover" or (last is not None and fault.kind != "crash"):
        window += f" to {last}"
    started = fault.first_round <= round
    ended = last is not None and last < round + 1 and fault.kind != "crash"
    effect = ""
    if fault.kind in ("drop", "partition", "corrupt"):
        effect = _count(lost[(fault.kind, "MessageDropped")], "message", "dropped")
    elif fault.kind == "delay":
        effect = _count(lost[(fault.kind, "MessageDelayed")], "message", "delayed")
    state = "pending" if not started else ("over" if ended else "in force")
    action = "" if ended else ("undo" if not started else
                               {"crash": "recover", "crash_recover": "recover", "partition": "heal"}.get(fault.kind,
                                                                                                        "end"))
    text = f"{fault.kind} on {who} · {window} · {state}" + (f" · {effect}" if effect else "")
    return FaultGroup(key, text, fault if action else None, action)


def _count(n: int, noun: str, verb: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)} {verb} so far" if n else ""


def _target(fault: FaultSpec) -> str:
    if fault.agent:
        return fault.agent
    if fault.link:
        return f"{fault.link[0]} — {fault.link[1]}"
    if fault.group:
        return ", ".join(fault.group)
    if fault.groups:
        return " | ".join(", ".join(g) for g in fault.groups)
    return "every agent"


def fault_lines(notes: Iterable[FaultNote], limit: int = MAX_ROWS, in_force: Sequence[FaultSpec] = (),
                round: int = 0) -> list[str]:
    """The fault log as text lines (see :func:`fault_groups`)."""
    return [g.text for g in fault_groups(notes, in_force, round)][:limit]
