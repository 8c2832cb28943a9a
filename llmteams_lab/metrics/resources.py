"""Resources per agent and per profile: what each member of a team cost, and its time.

A heterogeneous team is judged agent by agent: the strong model may cost most of the
bill while the cheap ones finish most tasks. Pure polars over the events frame; the
profile and model of each agent are read from the spec in the run's ``RunStarted``.

Per (run, agent) (:func:`agent_usage`):

* replies, failures  ``AgentReplied`` / ``AgentFailed`` rows (their ``count``)
* tokens_in, tokens_out, tokens  over those rows
* cost_usd     Σ their ``cost_usd``; ``cost_known`` is false when some call's price was
               unknown (then ``cost_usd`` is what the known ones cost, a lower bound)
* busy_s       Σ (t_end − t_start) of those calls: the time the agent spent in calls,
               including any wait for the endpoint's limits (a call's latency holds it)
* throttled_s  Σ of its ``CallThrottled`` waits (see ``backends.limits``): the part of
               ``busy_s`` spent waiting for the endpoint's limits, not for the model
* tasks_completed  its ``TaskCompleted`` rows (work division)
* cost_share   its share of the run's known cost (0 when the run cost nothing)

:func:`profile_usage` sums the same per (run, profile); agents without a profile are
grouped under ``profile = null``.
"""

from __future__ import annotations

import json

import polars as pl

__all__ = ["agent_profiles", "agent_usage", "profile_usage"]

_CALLS = ("AgentReplied", "AgentFailed")
_SUMS = ("agents", "replies", "failures", "tokens_in", "tokens_out", "tokens", "cost_usd", "busy_s", "throttled_s",
         "tasks_completed")


def agent_profiles(events: pl.DataFrame) -> pl.DataFrame:
    """Per (run_id, agent): its ``profile``, ``model`` and ``backend`` from the run's spec."""
    starts = events.filter(pl.col("kind") == "RunStarted").select("run_id", "detail").unique("run_id")
    rows = []
    for run_id, detail in starts.iter_rows():
        try:
            agents = json.loads(detail).get("agents", [])
        except (TypeError, ValueError, AttributeError):
            agents = []
        rows += [(run_id, a.get("id"), a.get("profile"), a.get("model"), a.get("backend", "simulated"))
                 for a in agents if isinstance(a, dict)]
    return pl.DataFrame(rows, schema={"run_id": pl.String, "agent": pl.String, "profile": pl.String,
                                      "model": pl.String, "backend": pl.String}, orient="row")


def agent_usage(events: pl.DataFrame) -> pl.DataFrame:
    """One row per (run, agent) with its calls, tokens, cost and time (module docstring)."""
    calls = pl.col("kind").is_in(_CALLS)
    per = events.filter(pl.col("agent").is_not_null()).group_by("run_id", "agent").agg(
        replies=pl.col("count").filter(pl.col("kind") == "AgentReplied").sum(),
        failures=pl.col("count").filter(pl.col("kind") == "AgentFailed").sum(),
        tokens_in=pl.col("tokens_in").filter(calls).sum(),
        tokens_out=pl.col("tokens_out").filter(calls).sum(),
        cost_usd=pl.col("cost_usd").filter(calls).sum(),
        cost_known=pl.col("cost_usd").filter(calls).null_count() == 0,
        busy_s=(pl.col("t_end") - pl.col("t_start")).filter(calls).sum(),
        throttled_s=(pl.col("t_end") - pl.col("t_start")).filter(pl.col("kind") == "CallThrottled").sum(),
        tasks_completed=pl.col("count").filter(pl.col("kind") == "TaskCompleted").sum(),
    ).filter((pl.col("replies") + pl.col("failures")) > 0)
    per = per.with_columns(tokens=pl.col("tokens_in") + pl.col("tokens_out"))
    total = pl.col("cost_usd").sum().over("run_id")
    per = per.with_columns(cost_share=pl.when(total > 0).then(pl.col("cost_usd") / total).otherwise(0.0))
    out = per.join(agent_profiles(events), on=["run_id", "agent"], how="left")
    return out.sort("run_id", "agent").select(
        "run_id", "agent", "profile", "model", "backend", "replies", "failures", "tokens_in", "tokens_out", "tokens",
        "cost_usd", "cost_known", "cost_share", "busy_s", "throttled_s", "tasks_completed")


def profile_usage(events: pl.DataFrame) -> pl.DataFrame:
    """One row per (run, profile): ``agents`` and the sums of :func:`agent_usage`, with
    ``cost_per_task`` (dollars per completed task; null without completed tasks)."""
    per = agent_usage(events).with_columns(agents=pl.lit(1, dtype=pl.Int64))
    out = per.group_by("run_id", "profile").agg(*(pl.col(c).sum() for c in _SUMS),
                                                cost_known=pl.col("cost_known").all())
    return out.with_columns(cost_per_task=pl.when(pl.col("tasks_completed") > 0)
                            .then(pl.col("cost_usd") / pl.col("tasks_completed"))).sort("run_id", "profile")
