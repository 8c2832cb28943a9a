"""Fault metrics: what faults cost a team, read from the events alone.

* message loss     per run (or round): sent, delivered (first copies), dropped, delayed,
                   duplicated, corrupted; loss_rate = dropped / sent; ``receiver_down``:
                   the dropped messages whose receiver was down (crashed or in a
                   crash-recover window) when they arrived — lost to the agent, not the link
* Byzantine influence  per round: accuracy and agreement of all agents vs of the
                   correct agents only (faulty = targets of agent faults, from
                   ``FaultApplied``); given a fault-free ``baseline`` run of the same
                   seed, the correct agents' accuracy there and the difference
                   (influence = baseline − faulty run: what the faulty agents cost them)
* time to recover  per crash (from the crash) and per crash_recover / partition (from
                   the recovery / heal): rounds and seconds until the replies' agreement
                   is back at its level in the round before the fault began (1.0 if it
                   began in round 1); null if it never is

Accuracy and agreement of a round count the live agents by the answer they hold, as
``metrics.consensus`` does (a failed call keeps its agent, with its held answer).
"""

from __future__ import annotations

import json

import polars as pl

from llmteams_lab.metrics.consensus import convergence, held_rows
from llmteams_lab.metrics.frame import count_of as _count
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import DOWN_KINDS, INCORRECT_KINDS, FaultSpec

__all__ = ["FAULTY_KINDS", "byzantine_influence", "faulty_agents", "message_loss", "time_to_recover"]

# agent faults that make an agent incorrect (a straggler is slow, not wrong): the spec's vocabulary
FAULTY_KINDS = INCORRECT_KINDS


def message_loss(events: pl.DataFrame, *, per_round: bool = False) -> pl.DataFrame:
    """Per run (or per run and round): message counts by fate and the loss rate."""
    keys = ["run_id", "round"] if per_round else ["run_id"]
    dup = pl.col("fault").fill_null("") == "duplicate"
    out = events.filter(pl.col("round") > 0).group_by(keys).agg(
        sent=_count("MessageSent"),
        delivered=_count("MessageDelivered", ~dup),
        dropped=_count("MessageDropped"),
        delayed=_count("MessageDelayed", ~dup),
        duplicated=_count("MessageDelivered", dup),
        corrupted=_count("MessageDelivered", pl.col("fault").fill_null("").str.contains("corrupt")),
        receiver_down=_count("MessageDropped", pl.col("fault").is_in(DOWN_KINDS)),
    )
    rate = pl.when(pl.col("sent") > 0).then(pl.col("dropped") / pl.col("sent")).otherwise(None)
    return out.with_columns(loss_rate=rate).sort(keys)


def faulty_agents(events: pl.DataFrame) -> pl.DataFrame:
    """(run_id, agent, fault, round): agents targeted by an agent fault that makes them
    incorrect, and the round that fault began."""
    rows = events.filter((pl.col("kind") == "FaultApplied") & (pl.col("value") == "start")
                         & pl.col("fault").is_in(FAULTY_KINDS)).select("run_id", "fault", "detail", "round")
    ids = _team_ids(events)
    out = []
    for run_id, fault, detail, rnd in rows.iter_rows():
        fault_spec = FaultSpec.from_dict(json.loads(detail))
        targets = ([fault_spec.agent] if fault_spec.agent else list(fault_spec.group or ()) or ids.get(run_id, []))
        out += [(run_id, agent, fault, rnd) for agent in targets]
    schema = {"run_id": pl.String, "agent": pl.String, "fault": pl.String, "round": pl.Int64}
    return pl.DataFrame(out, schema=schema, orient="row").unique(maintain_order=True)


def _team_ids(events: pl.DataFrame) -> dict[str, list[str]]:
    starts = events.filter(pl.col("kind") == "RunStarted").select("run_id", "detail")
    return {run_id: list(TeamSpec.from_json(detail).ids) for run_id, detail in starts.iter_rows()}


def _answer_stats(held: pl.DataFrame, suffix: str) -> pl.DataFrame:
    per_value = held.group_by("run_id", "round", "value").agg(n=pl.len(), correct=pl.col("correct").first())
    holding = pl.col("n").filter(pl.col("value").is_not_null())
    return per_value.group_by("run_id", "round").agg(
        (pl.col("n").filter(pl.col("correct") & pl.col("value").is_not_null()).sum() / pl.col("n").sum())
        .alias(f"accuracy_{suffix}"),
        (holding.max().fill_null(0) / pl.col("n").sum()).alias(f"agreement_{suffix}"),
    )


def _held_by_agent(events: pl.DataFrame) -> pl.DataFrame:
    """One row per live agent and round: the answer it holds (replies and failed calls)."""
    return held_rows(events).filter(pl.col("agent").is_not_null()).select(
        "run_id", "round", "agent", "value", "correct")


def byzantine_influence(events: pl.DataFrame, baseline: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per (run_id, round): accuracy/agreement of all vs correct agents (see module doc).

    Needs per-agent replies (``logging = "messages"``). With ``baseline`` (one fault-free
    run, same seed), adds the correct agents' accuracy there and the influence.
    """
    replies = _held_by_agent(events)
    bad = faulty_agents(events).select("run_id", "agent").unique()
    honest = replies.join(bad, on=["run_id", "agent"], how="anti")
    team = events.filter(pl.col("kind") == "RoundEnded").select("run_id", "round", team_correct=pl.col("correct"))
    out = (team.join(_answer_stats(replies, "all"), on=["run_id", "round"], how="left")
           .join(_answer_stats(honest, "correct"), on=["run_id", "round"], how="left"))
    if baseline is not None:
        base_honest = _held_by_agent(baseline).join(bad.select("agent").unique(), on="agent", how="anti")
        base = _answer_stats(base_honest, "correct").select(
            "round", baseline_accuracy_correct=pl.col("accuracy_correct"))
        base_team = baseline.filter(pl.col("kind") == "RoundEnded").select(
            "round", baseline_team_correct=pl.col("correct"))
        out = out.join(base, on="round", how="left").join(base_team, on="round", how="left").with_columns(
            influence=pl.col("baseline_accuracy_correct") - pl.col("accuracy_correct"))
    return out.sort("run_id", "round")


def time_to_recover(events: pl.DataFrame) -> pl.DataFrame:
    """Per crash / crash_recover / partition: rounds and seconds until agreement recovers."""
    schema = {"run_id": pl.String, "fault": pl.String, "agent": pl.String, "fault_round": pl.Int64,
              "from_round": pl.Int64, "target_agreement": pl.Float64, "recovered_round": pl.Int64,
              "rounds_to_recover": pl.Int64, "seconds_to_recover": pl.Float64}
    applied = events.filter((pl.col("kind") == "FaultApplied")
                            & pl.col("fault").is_in(DOWN_KINDS + ("partition",)))
    conv = convergence(events).select("run_id", "round", "agreement")
    bounds = events.filter(pl.col("kind") == "RoundEnded").select("run_id", "round", "t_start", "t_end")
    rows = []
    for run_id, fault, agent, detail, start in _episodes(applied):
        end = _ending(applied, run_id, detail)
        ref = start if fault == "crash" else end
        run_conv = conv.filter(pl.col("run_id") == run_id)
        before = run_conv.filter(pl.col("round") == start - 1)["agreement"].to_list()
        target = before[0] if before and before[0] is not None else 1.0
        rec = None if ref is None else run_conv.filter(
            (pl.col("round") >= ref) & (pl.col("agreement") >= target - 1e-12))["round"].min()
        secs = None
        if rec is not None:
            b = bounds.filter(pl.col("run_id") == run_id)
            secs = b.filter(pl.col("round") == rec)["t_end"].item() - b.filter(pl.col("round") == ref)["t_start"].item()
        rows.append((run_id, fault, agent, start, ref, target, rec, None if rec is None else rec - ref, secs))
    return pl.DataFrame(rows, schema=schema, orient="row")


def _episodes(applied: pl.DataFrame) -> list[tuple]:
    starts = applied.filter(pl.col("value") == "start").sort("run_id", "seq")
    return [(r["run_id"], r["fault"], r["agent"], r["detail"], r["round"]) for r in starts.iter_rows(named=True)]


def _ending(applied: pl.DataFrame, run_id: str, detail: str) -> int | None:
    ends = applied.filter((pl.col("run_id") == run_id) & (pl.col("value") == "end") & (pl.col("detail") == detail))
    return ends["round"].min() if ends.height else None
