"""Scheduling and speculation: policies against the bounds, and what backup copies cost.

* :func:`policy_bounds`  each scheduling design's makespan on a DAG (simulated without
  the engine, ``workloads.workdivision.scheduling``) beside the critical-path bound
  C · u_min and the work bound W / Σ 1/u; ``ratio`` = makespan / the larger (≥ 1);
* :func:`policy_runs`    per run: the work summary with the run's ``assignment``,
  ``policy`` and ``backup_after`` read from its spec, and its stolen tasks;
* :func:`speculation_summary`  per run: backups started (``BackupStarted``), won (the
  primary copy was cancelled) and lost (the backup was), and the tokens and dollars of
  the cancelled copies' turns — the price of speculation, which the run's ``tokens``
  already include (under speculation each reply's detail names its task, so a turn a
  lost copy spent even after it was cancelled is still counted).
"""

from __future__ import annotations

from typing import Sequence

import polars as pl

from llmteams_lab.metrics.frame import count_of
from llmteams_lab.metrics.workdivision import run_specs, work_summary
from llmteams_lab.spec.tasks import WorkTask
from llmteams_lab.workloads.workdivision.scheduling import compare_policies

__all__ = ["policy_bounds", "policy_runs", "speculation_summary"]


def policy_bounds(tasks: Sequence[WorkTask], agents: Sequence[str] | int, *, unit_s: Sequence[float] | None = None,
                  designs: Sequence[tuple[str, str | None]] | None = None) -> pl.DataFrame:
    """One row per (assignment, policy) design: ``makespan`` (rounds with unit times,
    else seconds), ``critical_path_bound``, ``work_bound``, ``ratio``, ``idle_turns``,
    ``steals`` (see ``scheduling.compare_policies``)."""
    rows = compare_policies(tasks, agents, unit_s=unit_s, designs=designs)
    return pl.DataFrame(rows, schema={"assignment": pl.String, "policy": pl.String, "makespan": pl.Float64,
                                      "critical_path_bound": pl.Float64, "work_bound": pl.Float64,
                                      "ratio": pl.Float64, "idle_turns": pl.Int64, "steals": pl.Int64})


def policy_runs(events: pl.DataFrame) -> pl.DataFrame:
    """Per work-division run: :func:`work_summary` plus ``assignment``, ``policy``
    (``default`` when the mode's own), ``backup_after`` and ``steals``."""
    spec = pl.col("detail")
    policies = events.filter(pl.col("kind") == "RunStarted").select(
        "run_id",
        policy=spec.str.json_path_match("$.task.work.policy").fill_null("default"),
        backup_after=spec.str.json_path_match("$.task.work.backup_after").cast(pl.Float64),
    ).unique("run_id")
    steals = events.group_by("run_id").agg(steals=count_of("TaskStolen"))
    out = work_summary(events).join(run_specs(events).select("run_id", "assignment"), on="run_id", how="left")
    return out.join(policies, on="run_id", how="left").join(steals, on="run_id", how="left").sort("run_id")


def speculation_summary(events: pl.DataFrame) -> pl.DataFrame:
    """Per run: ``backups``, ``backups_won``, ``backups_lost``, ``cancelled_turns``,
    ``cancelled_tokens``, ``cancelled_cost_usd`` and the run's ``tokens`` (module doc)."""
    lost = events.filter(pl.col("kind") == "TaskCancelled").select(
        "run_id", "agent", task=pl.col("value"), copy=pl.col("detail").str.json_path_match("$.copy"))
    turns = events.filter(pl.col("kind") == "AgentReplied").select(
        "run_id", "agent", "tokens_in", "tokens_out", "cost_usd", task=pl.col("detail").str.json_path_match("$.task"))
    spent = turns.join(lost, on=["run_id", "agent", "task"], how="inner").group_by("run_id").agg(
        cancelled_turns=pl.len().cast(pl.Int64),
        cancelled_tokens=(pl.col("tokens_in") + pl.col("tokens_out")).sum(),
        cancelled_cost_usd=pl.col("cost_usd").sum())
    counts = events.group_by("run_id").agg(
        backups=count_of("BackupStarted"),
        backups_won=count_of("TaskCancelled", pl.col("detail").str.json_path_match("$.copy") == "primary"),
        backups_lost=count_of("TaskCancelled", pl.col("detail").str.json_path_match("$.copy") == "backup"))
    out = work_summary(events).select("run_id", "finished", "makespan_s", "tokens").join(counts, on="run_id")
    out = out.join(spent, on="run_id", how="left").with_columns(
        pl.col("cancelled_turns", "cancelled_tokens").fill_null(0), pl.col("cancelled_cost_usd").fill_null(0.0))
    return out.sort("run_id").select("run_id", "finished", "makespan_s", "tokens", "backups", "backups_won",
                                     "backups_lost", "cancelled_turns", "cancelled_tokens", "cancelled_cost_usd")
