"""A participant's rules, pure: doing its step, voting, waiting for the outcome, undoing.

States (``Part.state``)::

    idle ──prepare──▶ prepared ──decision──▶ committed | aborted | released   (two-phase)
      └──prepare──▶ aborted (it voted no: it may abort alone)
    idle ──execute──▶ done ──compensate──▶ compensated                        (saga, best effort)
      └──execute──▶ failed

A prepared participant may not decide alone: it voted yes, so the coordinator may have
committed. If no decision arrives within the timeout it records itself *blocked* (once)
and asks the coordinator again every timeout — the textbook blocking of two-phase
commit, visible in the log rather than silently resolved. A participant answers a
duplicate request with its earlier answer, and a compensation request for work it never
did with "compensated" (nothing to undo), so repeated messages are harmless.

The agent's choice is its vote (``yes`` with its part, or ``no``); a scripted failing
step (``CommitStep.fails``) fails whatever the agent says. Everything else is code.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FINAL", "Part", "ParticipantTurn", "act", "read"]

FINAL = ("aborted", "committed", "compensated", "failed", "released")


@dataclass
class Part:
    """One participant's state: its step, where it is, its part, its timer."""

    step: int
    state: str = "idle"
    part: str | None = None
    asked: str | None = None  # the request waiting for its answer: "prepare" | "execute"
    deadline: float = math.inf
    prepared_at: float | None = None
    blocked: bool = False

    def copy(self) -> "Part":
        return copy.copy(self)


@dataclass
class ParticipantTurn:
    """A participant after reading its mailbox: its state, what it sends, what happened,
    and whether its agent must vote this turn."""

    part: Part
    records: list[dict[str, Any]] = field(default_factory=list)
    happened: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (kind, value, detail)
    must_vote: bool = False


def read(part: Part, records: list[dict[str, Any]], now: float, *, protocol: str, timeout: float,
         step: str) -> ParticipantTurn:
    """Apply the coordinator's records to a copy of ``part`` at ``now`` (``step``: the
    step's name, for the happenings; records name steps by index)."""
    turn = ParticipantTurn(part.copy())
    p = turn.part
    for record in records:
        kind = record["type"]
        if kind in ("prepare", "execute"):
            _asked(turn, kind, protocol, step)
        elif kind == "decision":
            _decision(turn, record.get("outcome"), now, step)
        elif kind == "compensate":
            _compensate(turn, step)
    if p.state == "prepared" and now >= p.deadline:
        if not p.blocked:
            p.blocked = True
            turn.happened.append(("Blocked", step, {"waited_s": round(now - (p.prepared_at or now), 6)}))
        turn.records.append({"type": "status", "step": p.step})
        p.deadline = now + timeout
    turn.must_vote = p.asked is not None and p.state == "idle"
    return turn


def _asked(turn: ParticipantTurn, kind: str, protocol: str, step: str) -> None:
    p = turn.part
    if p.state == "idle":
        p.asked = kind
    elif kind == "prepare" and p.state in ("prepared", "aborted"):  # a repeated prepare: the same vote
        turn.records.append({"type": "vote", "step": p.step, "vote": "yes" if p.state == "prepared" else "no",
                             "part": p.part})
    elif kind == "execute" and p.state in ("done", "failed"):
        turn.records.append({"type": "result", "step": p.step, "ok": p.state == "done", "part": p.part})


def _decision(turn: ParticipantTurn, outcome: Any, now: float, step: str) -> None:
    p = turn.part
    final = {"commit": "committed", "abort": "aborted", "release": "released"}.get(outcome)
    if final is None:
        return
    if p.state in ("prepared", "idle"):
        waited = round(now - p.prepared_at, 6) if p.prepared_at is not None else None
        p.state, p.asked = final, None
        kind = {"committed": "PartCommitted", "aborted": "PartAborted", "released": "PartReleased"}[final]
        turn.happened.append((kind, step, {"part": p.part, "blocked": p.blocked, "waited_s": waited}))
    turn.records.append({"type": "ack", "step": p.step, "outcome": outcome})


def _compensate(turn: ParticipantTurn, step: str) -> None:
    p = turn.part
    if p.state == "done":
        p.state = "compensated"
        turn.happened.append(("Compensated", step, {"part": p.part}))
    elif p.state == "idle":
        p.asked = None
        p.state = "failed"  # told to undo work it never started: it will not start it
    turn.records.append({"type": "compensated", "step": p.step})


def act(turn: ParticipantTurn, vote: str | None, part: str | None, now: float, *, protocol: str, timeout: float,
        step: str, scripted_failure: bool, call_failed: bool = False
        ) -> tuple[Part, list[dict[str, Any]], list[tuple[str, str, dict]]]:
    """The participant's answer to a pending request, with its agent's vote (an agent
    whose call failed gave none: its step fails, as on a no, and the reason says so)."""
    p = turn.part.copy()
    records, happened = list(turn.records), list(turn.happened)
    if not turn.must_vote:
        return p, records, happened
    yes = vote == "yes" and bool(part) and not scripted_failure
    why = "scripted failure" if scripted_failure else "its call failed" if call_failed else (
        "voted no" if vote != "yes" else "no part given")
    detail: dict[str, Any] = {"part": part if yes else None} | ({} if yes else {"reason": why})
    p.asked = None
    if protocol == "two_phase":
        p.state, p.part = ("prepared", part) if yes else ("aborted", None)
        if yes:
            p.prepared_at, p.deadline = now, now + timeout
        happened.append(("Voted", "yes" if yes else "no", {"step": step, **detail}))
        records.append({"type": "vote", "step": p.step, "vote": "yes" if yes else "no", "part": p.part})
    else:
        p.state, p.part = ("done", part) if yes else ("failed", None)
        happened.append(("StepCompleted" if yes else "StepFailed", step, detail))
        records.append({"type": "result", "step": p.step, "ok": yes, "part": p.part})
    return p, records, happened
