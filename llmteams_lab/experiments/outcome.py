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
rounds_to_consensus    first round after which every live agent held the same answer (null: never)
agreement              share of the live agents holding the modal answer after the last round
accuracy_first/_last   share of the live agents holding the right answer, after round 1 / the last
                       (live agents as ``metrics.consensus`` counts them: replies, and failed
                       calls holding their earlier answer; crashed agents do not count)
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

import numpy as np

from llmteams_lab.events import Event
from llmteams_lab.spec.faults import DOWN_KINDS

__all__ = ["OUTCOME_COLUMNS", "outcome_row"]

OUTCOME_COLUMNS = ("reason", "decision", "correct", "decided", "rounds", "rounds_to_consensus", "agreement",
                   "accuracy_first", "accuracy_last", "messages", "delivered", "dropped", "tokens_in",
                   "tokens_out", "tokens", "cost_usd", "failures", "faults_applied", "clock_s")

_KIND, _COUNT = itemgetter(3), itemgetter(15)
_TOKENS_IN, _TOKENS_OUT, _COST = itemgetter(10), itemgetter(11), itemgetter(12)
_ANSWERS = frozenset(("AgentReplied", "AnswersTallied"))
_CALLS = _ANSWERS | {"AgentFailed"}
_COUNTED = ("MessageSent", "MessageDelivered", "MessageDropped", "AgentFailed", "FaultApplied")

# what a run's log says about its outcome: counts per kind, the calls' tokens and dollars
# (None: a reply's price unknown), each answer as (round, value, correct, count), the end
_Facts = tuple[dict[str, int], int, int, "float | None", list[tuple[int, str, bool, int]], float]


def outcome_row(records: Sequence[Event], reason: str | None, decision: str | None, correct: bool | None,
                rounds: int) -> dict[str, Any]:
    """The outcome columns (see the module docstring) of one run's ``records`` — the
    engine's columnar view (read as arrays, never as one object per event) or a list."""
    columnar = hasattr(records, "columns") and hasattr(records, "store")
    tally, tokens_in, tokens_out, cost, answers, end = (_from_columns(records) if columnar
                                                        else _from_tuples(records))
    per_round = _tallies(answers)
    first = per_round[min(per_round)] if per_round else None
    last = per_round[max(per_round)] if per_round else None
    return {
        "reason": reason, "decision": decision, "correct": correct, "decided": decision is not None,
        "rounds": rounds,
        "rounds_to_consensus": next((r for r in sorted(per_round) if _share(per_round[r], _modal(per_round[r])) >= 1),
                                    None),
        "agreement": _share(last, _modal(last)) if last else None,
        "accuracy_first": _share(first, first[1]) if first else None,
        "accuracy_last": _share(last, last[1]) if last else None,
        "messages": tally["MessageSent"], "delivered": tally["MessageDelivered"],
        "dropped": tally["MessageDropped"],
        "tokens_in": tokens_in, "tokens_out": tokens_out, "tokens": tokens_in + tokens_out, "cost_usd": cost,
        "failures": tally["AgentFailed"], "faults_applied": tally["FaultApplied"], "clock_s": float(end),
    }


def _from_tuples(records: Sequence[Event]) -> _Facts:
    """The facts from typed events, with C-level passes (``map``, ``list.count``)."""
    kinds = list(map(_KIND, records))
    if sum(map(_COUNT, records)) == len(records):  # per-message logging: one happening per row
        tally = {kind: kinds.count(kind) for kind in _COUNTED}
    else:
        tally = dict.fromkeys(_COUNTED, 0)
        for kind, count in zip(kinds, map(_COUNT, records)):
            if kind in tally:
                tally[kind] += count
    calls = list(compress(records, map(_CALLS.__contains__, kinds)))
    costs = [c for e, c in zip(calls, map(_COST, calls)) if c is not None or e[3] != "AgentFailed"]
    answers = [(e[1], e[8], bool(e[9]), e[15]) for e in calls if e[3] != "AgentFailed" or e[13] not in DOWN_KINDS]
    return (tally, sum(map(_TOKENS_IN, calls)), sum(map(_TOKENS_OUT, calls)),
            None if None in costs else round(sum(costs), 12), answers, records[-1][7] if records else 0.0)


def _from_columns(view: Any) -> _Facts:
    """The facts from the engine's columnar store: numpy over the columns, Python only
    over the answers (one row per reply, or per answer with aggregated logging)."""
    cols, kinds, strings = view.columns(), view.store.kinds, view.store.table.strings
    code = {k: i for i, k in enumerate(kinds)}
    kind, count = cols["kind"], cols["count"]
    per_kind = np.bincount(kind, weights=count, minlength=len(kinds)) if kind.size else np.zeros(len(kinds))
    tally = {k: int(per_kind[code[k]]) if k in code else 0 for k in _COUNTED}
    is_call = np.zeros(len(kinds) + 1, dtype=bool)  # by kind code (a lookup: np.isin is slow on small logs)
    is_call[[code[k] for k in _CALLS if k in code]] = True
    calls = is_call[kind]
    failed = kind == code.get("AgentFailed", -1)
    cost = cols["cost_usd"]
    unknown = bool(np.isnan(cost[calls & ~failed]).any())
    rows = zip(cols["round"][calls].tolist(), cols["value"][calls].tolist(), cols["correct"][calls].tolist(),
               count[calls].tolist(), failed[calls].tolist(), cols["fault"][calls].tolist())
    answers = [(r, strings[v], c == 2, n) for r, v, c, n, k, f in rows if not k or strings[f] not in DOWN_KINDS]
    return (tally, int(cols["tokens_in"][calls].sum()), int(cols["tokens_out"][calls].sum()),
            None if unknown else round(float(np.nansum(cost[calls])), 12), answers,
            float(cols["t_end"][-1]) if kind.size else 0.0)


def _tallies(answers: list[tuple[int, str | None, bool, int]]) -> dict[int, tuple[Counter, int]]:
    """Per round: (answer held -> live agents, with ``None`` for those holding none;
    agents holding the right answer)."""
    votes: dict[int, Counter] = {}
    right: dict[int, int] = {}
    for r, value, is_right, n in answers:
        tally = votes.get(r)
        if tally is None:
            tally = votes[r] = Counter()
            right[r] = 0
        tally[value] += n
        if is_right and value is not None:
            right[r] += n
    return {r: (tally, right[r]) for r, tally in votes.items()}


def _modal(tally: tuple[Counter, int]) -> int:
    return max((n for value, n in tally[0].items() if value is not None), default=0)


def _share(tally: tuple[Counter, int], part: int) -> float:
    return part / sum(tally[0].values())
