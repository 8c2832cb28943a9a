"""Consensus metrics: pure functions ``events frame -> DataFrame``, one row per round.

Answers per round come from ``AgentReplied`` rows (one per agent) or, in aggregated
logging, ``AnswersTallied`` rows (``count`` agents each); both go through
:func:`answer_tallies`, so every metric below works on either. With c_o the number of
agents answering option o in a round and N = Σ_o c_o:

* agreement  = max_o c_o / N                     (share holding the modal answer)
* entropy    = −Σ_o (c_o/N) · log2(c_o/N)         (bits; 0 when unanimous)
* accuracy   = c_truth / N                         (individual accuracy)
* team_value / team_correct: the protocol's decision after the round (``RoundEnded``)
* flips      = #{agents whose answer differs from their previous reply}
               (needs per-agent rows; null under aggregated logging)
* rounds to consensus = the first round with agreement = 1 (null if never)
"""

from __future__ import annotations

import polars as pl

__all__ = ["answer_tallies", "convergence", "rounds_to_consensus"]

_ANSWERS = ("AgentReplied", "AnswersTallied")


def answer_tallies(events: pl.DataFrame) -> pl.DataFrame:
    """(run_id, round, value, correct, count): how many agents answered each value."""
    return (
        events.filter(pl.col("kind").is_in(_ANSWERS) & pl.col("value").is_not_null())
        .group_by("run_id", "round", "value")
        .agg(pl.col("correct").first(), pl.col("count").sum())
        .sort("run_id", "round", "value")
    )


def convergence(events: pl.DataFrame) -> pl.DataFrame:
    """Per (run_id, round): replies, agreement, entropy, accuracy, team decision, flips."""
    t = answer_tallies(events)
    n = pl.col("count").sum()
    per_round = (
        t.group_by("run_id", "round")
        .agg(
            replies=n,
            agreement=pl.col("count").max() / n,
            entropy=(-((pl.col("count") / n) * (pl.col("count") / n).log(2)).sum()).abs(),
            accuracy=pl.col("count").filter(pl.col("correct")).sum() / n,
        )
    )
    ends = events.filter(pl.col("kind") == "RoundEnded").select(
        "run_id", "round", team_value=pl.col("value"), team_correct=pl.col("correct"))
    out = ends.join(per_round, on=["run_id", "round"], how="left")
    return out.join(_flips(events), on=["run_id", "round"], how="left").sort("run_id", "round").select(
        "run_id", "round", "replies", "agreement", "entropy", "accuracy", "team_value", "team_correct", "flips")


def _flips(events: pl.DataFrame) -> pl.DataFrame:
    replies = events.filter(pl.col("kind") == "AgentReplied").select("run_id", "round", "agent", "value")
    if replies.is_empty():
        return pl.DataFrame(schema={"run_id": pl.String, "round": pl.Int64, "flips": pl.Int64})
    changed = replies.sort("run_id", "agent", "round").with_columns(
        flip=(pl.col("value") != pl.col("value").shift(1).over("run_id", "agent")).fill_null(False)
    )
    return changed.group_by("run_id", "round").agg(flips=pl.col("flip").sum().cast(pl.Int64))


def rounds_to_consensus(events: pl.DataFrame) -> pl.DataFrame:
    """Per run: the first round in which every replying agent gave the same answer."""
    conv = convergence(events)
    runs = conv.select("run_id").unique()
    first = conv.filter(pl.col("agreement") >= 1.0).group_by("run_id").agg(
        rounds_to_consensus=pl.col("round").min())
    return runs.join(first, on="run_id", how="left").sort("run_id")
