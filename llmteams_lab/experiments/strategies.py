"""Error-handling strategies side by side: retries, compensation and voting on the same
multi-part task under the same seeded faults (issue 12, item 5).

The task is the commit workload's: a coordinator and one participant per step, each
producing one part of a joint output (a generated question per step; a participant is
right with probability ``competence``). The faults: every participant's model call fails
with probability ``failure_probability`` (an injected HTTP 503, drawn from the team's
seed). What each strategy does about them:

============  ===========  ==================================================================
strategy      protocol     on a failed call
============  ===========  ==================================================================
none          best_effort  nothing: that part is missing from the output (the baseline)
retries       best_effort  the call is made again (``failure_policy`` retry, up to
                           ``retries`` more times, with back-off)
compensation  saga         the step fails and the completed steps are undone in reverse
                           order: the whole output or none of it
voting        best_effort  each part is made by ``replicas`` agents and the majority's part
                           is used: a failed or a wrong replica is outvoted (a step without
                           a majority is missing)
============  ===========  ==================================================================

:func:`compare_strategies` runs every strategy on the same seeds, with the faults and
without them (the reference a strategy's overhead is measured against), one row per run
from :func:`~llmteams_lab.metrics.commit_outcomes`; :func:`strategy_table` sums them up
per strategy: success rate (the whole output, right), complete and half-done outputs,
tokens and seconds — each beside the fault-free run's. ``plots.strategies_figure`` draws it.
"""

from __future__ import annotations

from typing import Any, Iterable

import polars as pl

from llmteams_lab.errors import ArgumentError
from llmteams_lab.metrics import commit_outcomes
from llmteams_lab.runtime import run_sync
from llmteams_lab.spec import TeamSpec, commit_team

__all__ = ["STRATEGIES", "compare_strategies", "strategy_spec", "strategy_table"]

STRATEGIES = ("none", "retries", "compensation", "voting")


def strategy_spec(strategy: str, *, seed: int = 0, faults: bool = True, steps: int = 3,
                  failure_probability: float = 0.2, competence: float = 0.75, retries: int = 3,
                  replicas: int = 3, timeout_s: float = 10.0) -> TeamSpec:
    """The team of ``strategy`` (one of :data:`STRATEGIES`) for the task and faults of
    the module docstring; ``faults=False``: the same team without them."""
    if strategy not in STRATEGIES:
        raise ArgumentError("strategy", f"must be one of {list(STRATEGIES)}", strategy)
    protocol = "saga" if strategy == "compensation" else "best_effort"
    spec = commit_team(steps, protocol=protocol, seed=seed, timeout_s=timeout_s, max_rounds=400,
                       replicas=replicas if strategy == "voting" else 1, profile={"competence": competence})
    if strategy == "retries":
        spec = spec.replace(failure_policy={"on_error": "retry", "retries": retries, "backoff_s": 1.0})
    if faults and failure_probability > 0:
        participants = [a.id for a in spec.agents if a.id != spec.leader]
        spec = spec.replace(faults=[{"kind": "server_error", "probability": failure_probability,
                                     "group": participants}])
    return spec


def compare_strategies(seeds: int | Iterable[int] = 20, strategies: Iterable[str] = STRATEGIES,
                       **task: Any) -> pl.DataFrame:
    """One row per (strategy, seed, with or without the faults): ``commit_outcomes``'
    columns plus ``strategy``, ``seed``, ``faults``, ``complete`` (every part in the
    output), ``success`` (complete and right), ``failed_calls`` and ``retried_calls``.
    ``task``: :func:`strategy_spec`'s keywords."""
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    frames = []
    for strategy in strategies:
        for seed in seeds:
            for faults in (True, False):
                result = run_sync(strategy_spec(strategy, seed=seed, faults=faults, **task))
                frames.append(_row(result.events, strategy, seed, faults))
    if not frames:
        raise ArgumentError("strategies", "and seeds must name at least one of each", show_got=False)
    return pl.concat(frames)


def _row(events: pl.DataFrame, strategy: str, seed: int, faults: bool) -> pl.DataFrame:
    calls = events.filter(pl.col("kind").is_in(("AgentFailed", "AgentRetried")))
    return commit_outcomes(events).with_columns(
        strategy=pl.lit(strategy), seed=pl.lit(seed, pl.Int64), faults=pl.lit(faults),
        complete=pl.col("parts_out") == pl.col("steps"),
        success=(pl.col("parts_out") == pl.col("steps")) & pl.col("correct").fill_null(False),
        failed_calls=pl.lit(calls.filter(pl.col("kind") == "AgentFailed").height, pl.Int64),
        retried_calls=pl.lit(calls.filter(pl.col("kind") == "AgentRetried").height, pl.Int64))


def strategy_table(runs: pl.DataFrame) -> pl.DataFrame:
    """Per strategy (in :data:`STRATEGIES` order): ``runs`` under the faults, their
    ``success``, ``complete`` and ``half_done`` rates, mean ``tokens`` and ``seconds``
    (to the run's end), and the same means of the fault-free runs (``*_fault_free``)."""
    means = [pl.col("success").mean(), pl.col("complete").mean(), pl.col("half_done").mean(),
             pl.col("tokens").mean(), pl.col("end_s").mean().alias("seconds")]
    faulty = runs.filter(pl.col("faults")).group_by("strategy").agg(pl.len().alias("runs"), *means)
    clean = runs.filter(~pl.col("faults")).group_by("strategy").agg(
        pl.col("success").mean().alias("success_fault_free"), pl.col("tokens").mean().alias("tokens_fault_free"),
        pl.col("end_s").mean().alias("seconds_fault_free"))
    order = pl.DataFrame({"strategy": [s for s in STRATEGIES if s in set(runs["strategy"].to_list())]})
    return order.join(faulty, on="strategy", how="left").join(clean, on="strategy", how="left").select(
        "strategy", "runs", "success", "success_fault_free", "complete", "half_done", "tokens", "tokens_fault_free",
        "seconds", "seconds_fault_free")
