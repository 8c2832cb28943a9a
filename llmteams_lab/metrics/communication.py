"""Communication metrics: messages and tokens per round, per agent, per edge.

Every count sums the ``count`` column (1 per message, or the number of messages an
aggregated row stands for), so both logging modes give the same totals.

* messages       Σ count of ``MessageSent`` in the round
* delivered / dropped / delayed: the same for the matching events
* tokens_in/out  Σ over the round's replies (``AgentReplied`` / ``AnswersTallied``)
* cumulative     running sums over rounds (``cum_`` prefix)
* per agent      replies' tokens; messages sent (as sender) and received (as peer)
* per edge       messages and message tokens along each directed (agent → peer) arc
"""

from __future__ import annotations

import polars as pl

from llmteams_lab.metrics.frame import count_of as _count

__all__ = ["overhead", "per_agent", "per_edge"]

_REPLIES = ("AgentReplied", "AnswersTallied")


def overhead(events: pl.DataFrame) -> pl.DataFrame:
    """Per (run_id, round): messages, deliveries, drops, tokens; with cumulative sums."""
    rounds = events.filter(pl.col("kind") == "RoundEnded").select("run_id", "round")
    per = events.filter(pl.col("round") > 0).group_by("run_id", "round").agg(
        messages=_count("MessageSent"),
        delivered=_count("MessageDelivered"),
        dropped=_count("MessageDropped"),
        delayed=_count("MessageDelayed"),
        tokens_in=pl.col("tokens_in").filter(pl.col("kind").is_in(_REPLIES)).sum(),
        tokens_out=pl.col("tokens_out").filter(pl.col("kind").is_in(_REPLIES)).sum(),
        cost_usd=pl.col("cost_usd").filter(pl.col("kind").is_in(_REPLIES)).sum(),
    )
    out = rounds.join(per, on=["run_id", "round"], how="left").fill_null(0).sort("run_id", "round")
    cums = [pl.col(c).cum_sum().over("run_id").alias(f"cum_{c}") for c in ("messages", "tokens_in", "tokens_out")]
    return out.with_columns(cums)


def per_agent(events: pl.DataFrame) -> pl.DataFrame:
    """Per (run_id, agent): replies, failures, tokens in/out, messages sent and received."""
    acting = events.filter(pl.col("agent").is_not_null()).group_by("run_id", "agent").agg(
        replies=_count("AgentReplied"),
        failures=_count("AgentFailed"),
        tokens_in=pl.col("tokens_in").filter(pl.col("kind") == "AgentReplied").sum(),
        tokens_out=pl.col("tokens_out").filter(pl.col("kind") == "AgentReplied").sum(),
        sent=_count("MessageSent"),
    )
    received = events.filter((pl.col("kind") == "MessageDelivered") & pl.col("peer").is_not_null()).group_by(
        "run_id", pl.col("peer").alias("agent")).agg(received=pl.col("count").sum())
    return acting.join(received, on=["run_id", "agent"], how="full", coalesce=True).fill_null(0).sort(
        "run_id", "agent")


def per_edge(events: pl.DataFrame) -> pl.DataFrame:
    """Per (run_id, agent → peer): messages sent, delivered, and tokens carried."""
    msgs = events.filter(pl.col("peer").is_not_null() & pl.col("kind").is_in(("MessageSent", "MessageDelivered")))
    return msgs.group_by("run_id", "agent", "peer").agg(
        messages=_count("MessageSent"),
        delivered=_count("MessageDelivered"),
        tokens=pl.col("tokens_out").filter(pl.col("kind") == "MessageSent").sum(),
    ).sort("run_id", "agent", "peer")
