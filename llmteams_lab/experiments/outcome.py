"""One sweep row: a run's outcome metrics, computed from its typed records in one pass.

Why not the polars metrics: building a frame and running ``convergence``/``overhead``
costs ~12 ms per run, more than a 10-agent run itself; a sweep computes its rows from
the records with C-level passes (``map``/``itemgetter``/``Counter``) and does its
analytics once, on the whole table (``metrics.intervals``, ``metrics.designs``).
Every value means what the polars metric of the same name means (a test compares
them on per-message and aggregated logs):

=====================  ============================================================
reason                 why the run ended (``RunEnded.detail``)
decision, correct      the team's decision and whether it is the truth
decided                a decision was reached
rounds                 rounds run
rounds_to_consensus    first round every replying agent gave the same answer (null: never)
agreement              share of the last round's replies holding its modal answer
accuracy_first/_last   individual accuracy: share of replies that were right, round 1 / last
messages               messages sent (Σ ``count`` of ``MessageSent``); delivered, dropped too
tokens_in, tokens_out  tokens of every agent call (replies and failed calls); tokens: both
cost_usd               dollars of those calls (null when a reply's price is unknown; a
                       failed call that reports no cost is not billed)
failures               failed agent calls (``AgentFailed``); faults_applied: ``FaultApplied``
clock_s                the run's clock when it ended (virtual seconds for simulated agents)
=====================  ============================================================
"""

from __future__ import annotations

from collections import Counter
from itertools import compress
from operator import itemgetter
from typing import Any, Sequence

from llmteams_lab.events import Event

__all__ = ["OUTCOME_COLUMNS", "outcome_row"]

OUTCOME_COLUMNS = ("reason", "decision", "correct", "decided", "rounds", "rounds_to_consensus", "agreement",
                   "accuracy_first", "accuracy_last", "messages", "delivered", "dropped", "tokens_in",
                   "tokens_out", "tokens", "cost_usd", "failures", "faults_applied", "clock_s")

_KIND, _COUNT = itemgetter(3), itemgetter(15)
_TOKENS_IN, _TOKENS_OUT, _COST = itemgetter(10), itemgetter(11), itemgetter(12)
_ANSWERS = frozenset(("AgentReplied", "AnswersTallied"))
_CALLS = _ANSWERS | {"AgentFailed"}
_COUNTED = ("MessageSent", "MessageDelivered", "MessageDropped", "AgentFailed", "FaultApplied")


def outcome_row(records: Sequence[Event], reason: str | None, decision: str | None, correct: bool | None,
                rounds: int) -> dict[str, Any]:
    """The outcome columns (see the module docstring) of one run's ``records``."""
    kinds = list(map(_KIND, records))
    if sum(map(_COUNT, records)) == len(records):  # per-message logging: one happening per row
        tally = {kind: kinds.count(kind) for kind in _COUNTED}  # list.count runs in C
    else:
        tally = dict.fromkeys(_COUNTED, 0)
        for kind, count in zip(kinds, map(_COUNT, records)):
            if kind in tally:
                tally[kind] += count
    calls = list(compress(records, map(_CALLS.__contains__, kinds)))
    costs = [c for e, c in zip(calls, map(_COST, calls)) if c is not None or e[3] != "AgentFailed"]
    tokens_in, tokens_out = sum(map(_TOKENS_IN, calls)), sum(map(_TOKENS_OUT, calls))
    answers = [e for e in calls if e[3] in _ANSWERS and e[8] is not None]
    per_round = _tallies(answers)
    first = per_round[min(per_round)] if per_round else None
    last = per_round[max(per_round)] if per_round else None
    end = records[-1][7] if records else 0.0
    return {
        "reason": reason, "decision": decision, "correct": correct, "decided": decision is not None,
        "rounds": rounds,
        "rounds_to_consensus": next((r for r in sorted(per_round) if len(per_round[r][0]) == 1), None),
        "agreement": _share(last, max(last[0].values())) if last else None,
        "accuracy_first": _share(first, first[1]) if first else None,
        "accuracy_last": _share(last, last[1]) if last else None,
        "messages": tally["MessageSent"], "delivered": tally["MessageDelivered"],
        "dropped": tally["MessageDropped"],
        "tokens_in": tokens_in, "tokens_out": tokens_out, "tokens": tokens_in + tokens_out,
        "cost_usd": None if None in costs else round(sum(costs), 12),
        "failures": tally["AgentFailed"], "faults_applied": tally["FaultApplied"],
        "clock_s": float(end),
    }


def _tallies(answers: list[Event]) -> dict[int, tuple[Counter, int]]:
    """Per round: (answer -> agents, agents right)."""
    out: dict[int, tuple[Counter, int]] = {}
    for e in answers:
        votes = out.get(e[1])
        if votes is None:
            votes = out[e[1]] = (Counter(), [0])  # type: ignore[assignment]
        votes[0][e[8]] += e[15]
        if e[9]:
            votes[1][0] += e[15]  # type: ignore[index]
    return {r: (votes, right[0]) for r, (votes, right) in out.items()}  # type: ignore[misc]


def _share(tally: tuple[Counter, int], part: int) -> float:
    return part / sum(tally[0].values())
