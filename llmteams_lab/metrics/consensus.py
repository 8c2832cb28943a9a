"""Consensus metrics: pure functions ``events frame -> DataFrame``, one row per round.

Who counts — the one definition of consensus (``protocols.deliberation``, "Consensus"),
shared with the debate's stop rule and ``RoundSummary.agreement``: after a round, every
*live* agent counts, by the answer it *holds*. Read from a round's events alone:

* ``AgentReplied`` — the agent replied; it holds ``value`` (null: no valid answer);
* ``AnswersTallied`` (aggregated logging) — ``count`` agents replied ``value``;
* ``AgentFailed`` of a failed call — the agent is live and holds ``value`` (its earlier
  answer, or null: it had none, or the ``abstain`` policy withdrew it);
* ``AgentFailed`` with fault ``crash`` / ``crash_recover`` — the agent is down: it does
  not count.

:func:`held_answers` gives that population. With c_o the number of live agents holding
option o, N the number of live agents and H = Σ_o c_o those holding any answer:

* agreement  = max_o c_o / N                       (share holding the modal answer)
* accuracy   = c_truth / N                          (share holding the right answer)
* entropy    = −Σ_o (c_o/H) · log2(c_o/H)           (bits, over the answers held; 0 when unanimous)
* replies    = agents that replied this round (failed calls and down agents excluded)
* team_value / team_correct: the protocol's decision after the round (``RoundEnded``)
* flips      = #{agents whose answer differs from their previous reply}
               (needs per-agent rows; null under aggregated logging)
* rounds to consensus = the first round with agreement = 1 — every live agent holds the
  same answer — which is the round a debate with ``stop_at_consensus`` stops in (null if never)

Logs written before failed calls carried the held answer count a failed agent as
holding none.
"""

from __future__ import annotations

from typing import Iterable

import polars as pl

from llmteams_lab.spec.faults import DOWN_KINDS

__all__ = ["answer_tallies", "convergence", "held_answers", "held_rows", "round_agreement", "rounds_to_consensus"]

_ANSWERS = ("AgentReplied", "AnswersTallied")


def held_rows(events: pl.DataFrame) -> pl.DataFrame:
    """The rows standing for live agents and the answers they hold (see the module doc)."""
    failed_call = (pl.col("kind") == "AgentFailed") & ~pl.col("fault").fill_null("").is_in(DOWN_KINDS)
    return events.filter(pl.col("kind").is_in(_ANSWERS) | failed_call)


def held_answers(events: pl.DataFrame) -> pl.DataFrame:
    """(run_id, round, value, correct, count, replied): live agents per answer held after
    each round (``value`` null: holding none), and how many of them replied this round."""
    return (
        held_rows(events)
        .group_by("run_id", "round", "value")
        .agg(pl.col("correct").drop_nulls().first(), pl.col("count").sum(),
             replied=pl.col("count").filter(pl.col("kind").is_in(_ANSWERS)).sum())
        .sort("run_id", "round", "value", nulls_last=True)
    )


def answer_tallies(events: pl.DataFrame) -> pl.DataFrame:
    """(run_id, round, value, correct, count): how many agents *replied* each value this
    round (no failed calls, no null answers) — what the round's replies said."""
    return (
        events.filter(pl.col("kind").is_in(_ANSWERS) & pl.col("value").is_not_null())
        .group_by("run_id", "round", "value")
        .agg(pl.col("correct").first(), pl.col("count").sum())
        .sort("run_id", "round", "value")
    )


def convergence(events: pl.DataFrame) -> pl.DataFrame:
    """Per (run_id, round): live agents, replies, agreement, entropy, accuracy, team
    decision, flips (see the module docstring)."""
    t = held_answers(events)
    n = pl.col("count").sum()
    holding = pl.col("count").filter(pl.col("value").is_not_null())
    share = holding / holding.sum()
    per_round = (
        t.group_by("run_id", "round")
        .agg(
            agents=n,
            replies=pl.col("replied").sum(),
            agreement=holding.max().fill_null(0) / n,
            entropy=pl.when(holding.sum() > 0).then((-(share * share.log(2)).sum()).abs()),
            accuracy=pl.col("count").filter(pl.col("correct") & pl.col("value").is_not_null()).sum() / n,
        )
    )
    ends = events.filter(pl.col("kind") == "RoundEnded").select(
        "run_id", "round", team_value=pl.col("value"), team_correct=pl.col("correct"))
    out = ends.join(per_round, on=["run_id", "round"], how="left")
    return out.join(_flips(events), on=["run_id", "round"], how="left").sort("run_id", "round").select(
        "run_id", "round", "agents", "replies", "agreement", "entropy", "accuracy", "team_value", "team_correct",
        "flips")


def _flips(events: pl.DataFrame) -> pl.DataFrame:
    replies = events.filter(pl.col("kind") == "AgentReplied").select("run_id", "round", "agent", "value")
    if replies.is_empty():
        return pl.DataFrame(schema={"run_id": pl.String, "round": pl.Int64, "flips": pl.Int64})
    changed = replies.sort("run_id", "agent", "round").with_columns(
        flip=(pl.col("value") != pl.col("value").shift(1).over("run_id", "agent")).fill_null(False)
    )
    return changed.group_by("run_id", "round").agg(flips=pl.col("flip").sum().cast(pl.Int64))


def rounds_to_consensus(events: pl.DataFrame) -> pl.DataFrame:
    """Per run: the first round after which every live agent held the same answer."""
    conv = convergence(events)
    runs = conv.select("run_id").unique()
    first = conv.filter(pl.col("agreement") >= 1.0).group_by("run_id").agg(
        rounds_to_consensus=pl.col("round").min())
    return runs.join(first, on="run_id", how="left").sort("run_id")


def round_agreement(events: Iterable) -> float | None:
    """The agreement of one round's typed events (the same rule as :func:`convergence`,
    without a frame: what a replay reports as ``RoundSummary.agreement``); ``None``
    when the round has no answer rows."""
    held: dict[str | None, int] = {}
    for e in events:
        if e.kind in _ANSWERS or (e.kind == "AgentFailed" and e.fault not in DOWN_KINDS):
            held[e.value] = held.get(e.value, 0) + e.count
    counted = sum(held.values())
    if not counted:
        return None
    return max((c for v, c in held.items() if v is not None), default=0) / counted
