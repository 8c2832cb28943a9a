"""Metrics on time, not rounds — what an asynchronous team is measured by.

They read only the one event schema, so they also work on synchronous runs (where
messages wait for the round's end) and on replays.

* :func:`message_latency`  per delivered message: ``t_end − t_start`` (time in flight,
                           plus, in synchronous rounds, the wait for the barrier)
* :func:`in_flight`        messages in flight over time: +1 at a send, −1 at its
                           delivery or drop (heartbeats excluded)
* :func:`mailbox_lengths`  per agent over time: messages waiting to be read — +1 per
                           delivery into its mailbox, back to 0 when it takes a turn
                           (an ``AgentReplied``/``AgentFailed`` starting then)
* :func:`suspicions`       every ``Suspected``, and whether it was *true* (the suspect
                           was down then) or *false* (a slow or silent live agent), and
                           whether and when it was withdrawn
* :func:`time_summary`     one row per run: time to decision, messages, latency mean
                           and 95th percentile, most in flight, longest mailbox, stale
                           reads (work boards), true and false suspicions
"""

from __future__ import annotations

import polars as pl

from llmteams_lab.spec.faults import DOWN_KINDS

__all__ = ["in_flight", "mailbox_lengths", "message_latency", "suspicions", "time_summary"]

_HEARTBEAT = pl.col("detail").fill_null("") == "heartbeat"
_DECIDED = ("consensus", "quorum", "voted", "leader_decided", "all_tasks_done")


def message_latency(events: pl.DataFrame) -> pl.DataFrame:
    """(run_id, seq, agent, peer, sent, delivered, latency) per delivered message
    (duplicates and heartbeats left out)."""
    got = events.filter((pl.col("kind") == "MessageDelivered") & ~_HEARTBEAT
                        & (pl.col("fault").fill_null("") != "duplicate") & (pl.col("count") == 1))
    return got.select("run_id", "seq", "agent", "peer", sent=pl.col("t_start"), delivered=pl.col("t_end"),
                      latency=pl.col("t_end") - pl.col("t_start")).sort("run_id", "seq")


def in_flight(events: pl.DataFrame) -> pl.DataFrame:
    """(run_id, t, in_flight) at every send, delivery or drop (heartbeats left out)."""
    msgs = events.filter(pl.col("kind").is_in(("MessageSent", "MessageDelivered", "MessageDropped"))
                         & ~_HEARTBEAT & (pl.col("fault").fill_null("") != "duplicate"))
    steps = msgs.select("run_id", "seq", t=pl.when(pl.col("kind") == "MessageSent").then(pl.col("t_start"))
                        .otherwise(pl.col("t_end")),
                        change=pl.when(pl.col("kind") == "MessageSent").then(pl.col("count"))
                        .otherwise(-pl.col("count")))
    return steps.sort("run_id", "t", "seq").with_columns(
        in_flight=pl.col("change").cum_sum().over("run_id")).select("run_id", "t", "in_flight")


def mailbox_lengths(events: pl.DataFrame) -> pl.DataFrame:
    """(run_id, agent, t, waiting): each agent's unread messages after every delivery to
    it and every turn it takes (see the module docstring)."""
    got = events.filter((pl.col("kind") == "MessageDelivered") & ~_HEARTBEAT & (pl.col("count") == 1)
                        & (pl.col("fault").fill_null("") != "duplicate")).select(
        "run_id", "seq", agent=pl.col("peer"), t=pl.col("t_end"), add=pl.lit(1, pl.Int64))
    turns = events.filter(pl.col("kind").is_in(("AgentReplied", "AgentFailed")) & pl.col("agent").is_not_null()
                          ).select("run_id", "seq", "agent", t=pl.col("t_start"), add=pl.lit(None, pl.Int64))
    rows = pl.concat([got, turns]).sort("run_id", "agent", "t", "seq")
    # a turn resets the count: number the turns, then sum the deliveries since the latest one
    rows = rows.with_columns(epoch=pl.col("add").is_null().cast(pl.Int64).cum_sum().over("run_id", "agent"))
    return rows.with_columns(waiting=pl.col("add").fill_null(0).cum_sum().over("run_id", "agent", "epoch")
                             ).select("run_id", "agent", "t", "waiting")


def suspicions(events: pl.DataFrame) -> pl.DataFrame:
    """(run_id, agent, suspect, t, true, withdrawn_at) per ``Suspected``: ``true`` when the
    suspect was down at that time (crashed, or inside a crash-recover window)."""
    sus = events.filter(pl.col("kind") == "Suspected").select("run_id", "seq", "agent", suspect=pl.col("peer"),
                                                              t=pl.col("t_end"))
    unsus = events.filter(pl.col("kind") == "Unsuspected").select(
        "run_id", "agent", suspect=pl.col("peer"), withdrawn_at=pl.col("t_end"), w_seq=pl.col("seq"))
    down = events.filter((pl.col("kind") == "AgentFailed") & pl.col("fault").is_in(DOWN_KINDS)).select(
        "run_id", suspect=pl.col("agent"), down_round=pl.col("round"), down_start=pl.col("t_start"))
    ends = events.filter(pl.col("kind") == "RoundEnded").select("run_id", down_round=pl.col("round"),
                                                                down_end=pl.col("t_end"))
    down = down.join(ends, on=["run_id", "down_round"], how="left")
    flagged = sus.join(down, on=["run_id", "suspect"], how="left").with_columns(
        hit=(pl.col("t") >= pl.col("down_start")) & (pl.col("t") <= pl.col("down_end")))
    truth = flagged.group_by("run_id", "seq").agg(true=pl.col("hit").fill_null(False).any())
    out = sus.join(truth, on=["run_id", "seq"], how="left")
    later = out.join(unsus, on=["run_id", "agent", "suspect"], how="left").filter(
        pl.col("w_seq").is_null() | (pl.col("w_seq") > pl.col("seq")))
    first = later.group_by("run_id", "seq").agg(withdrawn_at=pl.col("withdrawn_at").min())
    return out.join(first, on=["run_id", "seq"], how="left").select(
        "run_id", "agent", "suspect", "t", "true", "withdrawn_at").sort("run_id", "t", "agent", "suspect")


def time_summary(events: pl.DataFrame) -> pl.DataFrame:
    """One row per run (see the module docstring). ``time_to_decision`` is null when the
    run ended without a decision (a budget, quiescence)."""
    ends = events.filter(pl.col("kind") == "RunEnded").group_by("run_id").agg(
        reason=pl.col("detail").last(), ended=pl.col("t_end").last())
    ends = ends.with_columns(time_to_decision=pl.when(pl.col("reason").is_in(_DECIDED)).then(pl.col("ended")))
    lat = message_latency(events).group_by("run_id").agg(
        delivered=pl.len(), latency_mean=pl.col("latency").mean(), latency_p95=pl.col("latency").quantile(0.95))
    flight = in_flight(events).group_by("run_id").agg(max_in_flight=pl.col("in_flight").max())
    boxes = mailbox_lengths(events).group_by("run_id").agg(max_mailbox=pl.col("waiting").max())
    sus = suspicions(events).group_by("run_id").agg(true_suspicions=pl.col("true").sum(),
                                                    false_suspicions=(~pl.col("true")).sum())
    stale = events.group_by("run_id").agg(
        stale_reads=pl.col("count").filter((pl.col("kind") == "ClaimBlocked")
                                           & (pl.col("fault") == "stale_read")).sum())
    out = ends.select("run_id", "reason", "time_to_decision", "ended")
    for part in (lat, flight, boxes, sus, stale):
        out = out.join(part, on="run_id", how="left")
    fill = ["delivered", "max_in_flight", "max_mailbox", "true_suspicions", "false_suspicions", "stale_reads"]
    return out.with_columns(pl.col(fill).fill_null(0)).sort("run_id")
