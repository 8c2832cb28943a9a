"""Safety and liveness checks over a run's events, with the shortest prefix showing a violation.

Definitions (as in consensus, read from the log alone, one row per run and check):

* the team *decides* in the first round whose ``RoundEnded`` carries a decision value
  and a protocol reason (consensus, voted, quorum, leader_decided) — running out of
  rounds is not deciding;
* *correct* agents are those no agent fault targeted (see ``metrics.faults.FAULTY_KINDS``:
  crashed, Byzantine, equivocating, sycophantic, stubborn, injecting agents are faulty;
  stragglers, lost messages and failed backend calls are the environment's faults);
* an agent's decision is its last answer (``AgentReplied``) up to the decision round,
  its proposal its first answer.

agreement    every correct agent's decision is the same value
validity     the team's decided value was proposed by some correct agent (so liars who
             talk honest agents into their lie break validity)
termination  the team decides within ``k`` rounds

A violation is reported with ``prefix_rounds``: the shortest prefix of rounds (events
with ``round <= prefix_rounds``) on which the check already fails — the decision round
for agreement and validity; ``k``, or the last round of a run that ended undecided
before ``k``, for termination. Checking that prefix again gives the same verdict;
one round fewer does not. ``ok`` is null when the log cannot tell (aggregated logging
has no per-agent answers).
"""

from __future__ import annotations

import polars as pl

from llmteams_lab.errors import ArgumentError
from llmteams_lab.metrics.faults import faulty_agents

__all__ = ["check_agreement", "check_run", "check_termination", "check_validity", "prefix"]

_SCHEMA = {"run_id": pl.String, "check": pl.String, "ok": pl.Boolean, "prefix_rounds": pl.Int64,
           "detail": pl.String}


def _decisions(events: pl.DataFrame) -> dict[str, tuple[int, str]]:
    """run_id -> (decision round, decided value)."""
    decided = events.filter((pl.col("kind") == "RoundEnded") & pl.col("value").is_not_null()
                            & pl.col("detail").is_not_null())
    first = decided.sort("seq").group_by("run_id").agg(pl.col("round").first(), pl.col("value").first())
    return {run_id: (rnd, value) for run_id, rnd, value in first.iter_rows()}


def _runs(events: pl.DataFrame) -> list[str]:
    return events.select(pl.col("run_id").unique(maintain_order=True))["run_id"].to_list()


def _correct_replies(events: pl.DataFrame, run_id: str, decided: int) -> pl.DataFrame:
    """Replies up to the decision by agents no fault had touched by then (a fault that
    begins later does not make an earlier decision unsafe, and keeps prefixes honest)."""
    run = events.filter(pl.col("run_id") == run_id)
    replies = run.filter((pl.col("kind") == "AgentReplied") & pl.col("value").is_not_null()
                         & (pl.col("round") <= decided))
    bad = faulty_agents(run).filter(pl.col("round") <= decided).select("agent")
    return replies.join(bad, on="agent", how="anti").select("round", "seq", "agent", "value")


def _per_agent(events: pl.DataFrame, run_id: str) -> bool:
    run = events.filter(pl.col("run_id") == run_id)
    return run.filter(pl.col("kind") == "AgentReplied").height > 0 or run.filter(
        pl.col("kind") == "AnswersTallied").height == 0


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


def check_agreement(events: pl.DataFrame) -> pl.DataFrame:
    """Per run: did every correct agent decide the same value? (see module doc)"""
    decisions, rows = _decisions(events), []
    for run_id in _runs(events):
        if run_id not in decisions:
            rows.append((run_id, "agreement", True, None, "no decision yet"))
            continue
        if not _per_agent(events, run_id):
            rows.append((run_id, "agreement", None, None, "needs per-agent replies (logging = 'messages')"))
            continue
        rnd, value = decisions[run_id]
        last = (_correct_replies(events, run_id, rnd).sort("seq").group_by("agent")
                .agg(pl.col("value").last()).sort("agent"))
        held = dict(last.iter_rows())
        if len(set(held.values())) <= 1:
            rows.append((run_id, "agreement", True, None, f"correct agents decided {value!r} in round {rnd}"))
        else:
            split = ", ".join(f"{a}={v!r}" for a, v in held.items())
            rows.append((run_id, "agreement", False, rnd, f"correct agents disagree at the decision in round "
                                                          f"{rnd}: {split}"))
    return _frame(rows)


def check_validity(events: pl.DataFrame) -> pl.DataFrame:
    """Per run: was the decided value proposed by some correct agent? (see module doc)"""
    decisions, rows = _decisions(events), []
    for run_id in _runs(events):
        if run_id not in decisions:
            rows.append((run_id, "validity", True, None, "no decision yet"))
            continue
        if not _per_agent(events, run_id):
            rows.append((run_id, "validity", None, None, "needs per-agent replies (logging = 'messages')"))
            continue
        rnd, value = decisions[run_id]
        proposals = _correct_replies(events, run_id, rnd).sort("seq").group_by("agent").agg(pl.col("value").first())
        by = proposals.filter(pl.col("value") == value)["agent"].sort().to_list()
        if by:
            rows.append((run_id, "validity", True, None, f"{value!r} was proposed by correct agents {by}"))
        else:
            rows.append((run_id, "validity", False, rnd, f"the team decided {value!r} in round {rnd}, "
                                                         "which no correct agent proposed"))
    return _frame(rows)


def check_termination(events: pl.DataFrame, k: int) -> pl.DataFrame:
    """Per run: did the team decide within ``k`` rounds? (see module doc)"""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ArgumentError("k", "must be an integer >= 1", k)
    decisions, rows = _decisions(events), []
    for run_id in _runs(events):
        run = events.filter(pl.col("run_id") == run_id)
        last = run.filter(pl.col("kind") == "RoundEnded")["round"].max() or 0
        ended = run.filter(pl.col("kind") == "RunEnded").height > 0
        rnd = decisions.get(run_id, (None, None))[0]
        if rnd is not None and rnd <= k:
            rows.append((run_id, "termination", True, None, f"decided in round {rnd} <= {k}"))
        elif last >= k:
            rows.append((run_id, "termination", False, k, f"no decision in the first {k} rounds"))
        elif ended:
            rows.append((run_id, "termination", False, last, f"the run ended after round {last} undecided"))
        else:
            rows.append((run_id, "termination", True, None, f"undecided after {last} of {k} rounds (so far)"))
    return _frame(rows)


def check_run(events: pl.DataFrame, k: int) -> pl.DataFrame:
    """Agreement, validity and termination-within-``k`` for every run in ``events``."""
    return pl.concat([check_agreement(events), check_validity(events), check_termination(events, k)]).sort(
        "run_id", "check")


def prefix(events: pl.DataFrame, run_id: str, rounds: int) -> pl.DataFrame:
    """The run's events of rounds ``0 .. rounds`` (what a violation's witness is)."""
    return events.filter((pl.col("run_id") == run_id) & (pl.col("round") <= rounds))
