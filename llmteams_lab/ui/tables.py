"""The per-round message table and the fault log, as light HTML widgets.

Why HTML and not a grid widget: a 20-agent all-to-all round has 380 messages and the
lab may play 20 rounds a second; one HTML string per update is the cheapest thing
the browser can render. Rows are capped (the rest is summarised in a line), and every
value is escaped — message text comes from models and must not inject markup.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Iterable

import ipywidgets as w

from llmteams_lab.spec.faults import DOWN_KINDS
from llmteams_lab.ui.history import FaultNote, RoundState

__all__ = ["FaultLog", "MessageTable", "fault_lines", "message_table_html"]

MAX_ROWS = 120
_AGGREGATED = ("MessageDropped", "MessageDelayed", "MessageDelivered")
_DOWN = DOWN_KINDS


def message_table_html(state: RoundState, limit: int = MAX_ROWS) -> str:
    """The table of ``state``'s messages: sender, receiver, content, tokens, latency, fault."""
    head = f"<div class='ltl-table-title'>Messages of round {state.round}</div>"
    if state.round == 0:
        return head + "<div class='ltl-muted'>no round yet — press Step or Play</div>"
    if not state.messages:
        note = (f"{state.aggregated_messages} messages (aggregated logging: no per-message rows)"
                if state.aggregated_messages else "no messages this round")
        return head + f"<div class='ltl-muted'>{note}</div>"
    rows = []
    for m in state.messages[:limit]:
        latency = "" if m.latency is None else f"{m.latency:.3f} s"
        css = f" class='ltl-row-{m.status}'" if m.status != "delivered" else ""
        rows.append(f"<tr{css}><td>{escape(m.sender)}</td><td>{escape(m.receiver)}</td>"
                    f"<td>{escape(_short(m.content))}</td><td>{m.tokens}</td><td>{latency}</td>"
                    f"<td>{escape(m.fault or '')}{'' if m.status == 'delivered' else ' ' + m.status}</td></tr>")
    more = len(state.messages) - limit
    tail = f"<div class='ltl-muted'>… and {more} more messages</div>" if more > 0 else ""
    return (head + "<table class='ltl-table'><thead><tr><th>sender</th><th>receiver</th><th>content</th>"
            "<th>tokens</th><th>latency</th><th>fault</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>" + tail)


def fault_lines(notes: Iterable[FaultNote], limit: int = MAX_ROWS) -> list[str]:
    """Fault-log lines, newest first; dropped/delayed messages counted per round and fault."""
    lines: list[tuple[int, str]] = []
    counted: Counter = Counter()
    for n in notes:
        if n.kind in _AGGREGATED:
            counted[(n.round, n.kind, n.fault)] += 1
            continue
        who = n.agent if n.peer is None else f"{n.agent} — {n.peer}"
        who = f" on {who}" if who else ""
        if n.kind == "injected":
            text = f"{n.fault} injected{who} (from this round)"
        elif n.kind == "FaultApplied":
            text = f"{n.fault} {'ends' if n.phase == 'end' else 'applied'}{who}"
        elif n.kind == "AgentFailed" and n.fault in _DOWN:
            continue  # a crashed agent sits out every round; its crash is logged once
        elif n.kind == "AgentFailed":
            text = f"{n.agent} failed ({n.fault}): {_short(n.detail, 80)}"
        else:
            text = f"{n.kind} {n.fault}{who}"
        lines.append((n.round, f"round {n.round}: {text}"))
    for (r, kind, fault), count in counted.items():
        what = {"MessageDropped": "dropped", "MessageDelayed": "delayed"}.get(kind, "delivered late")
        lines.append((r, f"round {r}: {count} message{'s' * (count != 1)} {what} ({fault or 'network'})"))
    lines.sort(key=lambda item: -item[0])  # stable: within a round, log order
    return [text for _, text in lines[:limit]]


def _short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


class MessageTable(w.HTML):
    """The message table of one round."""

    def __init__(self) -> None:
        super().__init__(value=message_table_html(RoundState.initial(())))
        self.add_class("ltl-messages-table")

    def show(self, state: RoundState) -> None:
        self.value = message_table_html(state)


class FaultLog(w.HTML):
    """Every fault applied or injected and every failure, newest first."""

    def __init__(self) -> None:
        super().__init__()
        self.add_class("ltl-fault-log")
        self.show(())

    def show(self, notes: Iterable[FaultNote]) -> None:
        lines = fault_lines(notes)
        body = "".join(f"<li>{escape(line)}</li>" for line in lines) or "<li class='ltl-muted'>no faults yet</li>"
        self.value = f"<div class='ltl-table-title'>Fault log</div><ul class='ltl-log'>{body}</ul>"
