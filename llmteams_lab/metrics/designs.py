"""Reading a sweep's table: designs with intervals, paired differences, baselines, fronts.

A sweep table (``experiments.sweep``) has one row per (design, seed, arm); the grid's
keys are the columns before ``design``. All functions here are pure: table in, table out.

* :func:`design_summary`     per design and arm: runs, accuracy and decided rate with
                             Wilson intervals, mean tokens / clock seconds / messages /
                             rounds with bootstrap intervals
* :func:`paired_differences` each design minus a reference design, seed by seed (the
                             designs ran on the same seeds), with a bootstrap interval
* :func:`baseline_gains`     the team's accuracy minus its compute-matched
                             self-consistency baseline and minus its best single member
* :func:`pareto_front`       which designs no other design beats on accuracy, tokens
                             and time at once
* :func:`scaling_exponents`  ``y ≈ c · x^b`` fitted on log-log means (messages or tokens vs n)

Accuracy is the share of runs whose decision was the truth (an undecided run counts as
not correct).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import polars as pl

from llmteams_lab.errors import ArgumentError
from llmteams_lab.metrics.intervals import bootstrap_mean, wilson

__all__ = ["baseline_gains", "design_summary", "label_columns", "paired_differences", "pareto_front",
           "scaling_exponents"]

_MEANS = ("tokens", "clock_s", "messages", "rounds")


def label_columns(table: pl.DataFrame) -> list[str]:
    """The grid's columns of a sweep table (those before ``design``)."""
    if "design" not in table.columns:
        raise ArgumentError("table", "must be a sweep table (with a 'design' column)", table.columns[:8])
    return table.columns[: table.columns.index("design")]


def design_summary(table: pl.DataFrame, *, arm: str | None = None, seed: int = 0) -> pl.DataFrame:
    """One row per (design, arm): runs, accuracy [low, high], decided, means [low, high]."""
    rows = table if arm is None else table.filter(pl.col("arm") == arm)
    keys = [*label_columns(table), "design", "arm"]
    out = []
    for part in rows.partition_by(keys, maintain_order=True):
        row: dict[str, Any] = {key: part[key][0] for key in keys}
        row["runs"] = n = part.height
        for name, column in (("accuracy", "correct"), ("decided", "decided")):
            k = int(part[column].fill_null(False).sum())
            low, high = wilson(k, n)
            row.update({name: k / n, f"{name}_low": low, f"{name}_high": high})
        for name in _MEANS:
            values = part[name].drop_nulls().cast(pl.Float64).to_numpy()
            lo, hi = bootstrap_mean(values, seed=seed)
            row.update({name: float(values.mean()) if values.size else None, f"{name}_low": lo, f"{name}_high": hi})
        out.append(row)
    return pl.DataFrame(out)


def paired_differences(table: pl.DataFrame, reference: dict[str, Any] | str, *, metric: str = "correct",
                       arm: str = "team", seed: int = 0) -> pl.DataFrame:
    """Per design: mean of (design − ``reference``) of ``metric`` over the seeds both ran,
    with a bootstrap interval. ``reference``: a design key or its labels."""
    rows = table.filter(pl.col("arm") == arm)
    ref = _design_key(rows, reference)
    value = pl.col(metric).cast(pl.Float64).fill_null(0.0 if metric == "correct" else None)
    base = rows.filter(pl.col("design") == ref).select("seed", _ref=value)
    out = []
    labels = label_columns(table)
    for part in rows.filter(pl.col("design") != ref).partition_by("design", maintain_order=True):
        joined = part.select(*labels, "design", "seed", _v=value).join(base, on="seed").drop_nulls(["_v", "_ref"])
        diff = (joined["_v"] - joined["_ref"]).to_numpy()
        low, high = bootstrap_mean(diff, seed=seed)
        out.append({**{k: part[k][0] for k in labels}, "design": part["design"][0], "pairs": diff.size,
                    "difference": float(diff.mean()) if diff.size else None, "low": low, "high": high})
    return pl.DataFrame(out)


def baseline_gains(table: pl.DataFrame, *, seed: int = 0) -> pl.DataFrame:
    """Per design: team accuracy minus its self-consistency baseline and minus its best
    member (the member arm with the highest mean accuracy over the seeds), paired by seed."""
    arms = set(table["arm"].unique().to_list())
    if "self_consistency" not in arms:
        raise ArgumentError("table", "must hold baseline arms: run the sweep with baselines=True", sorted(arms))
    labels = label_columns(table)
    out = []
    for part in table.partition_by("design", maintain_order=True):
        by_arm = {a: p for a, p in zip(part["arm"].unique(maintain_order=True), part.partition_by("arm",
                                                                                                  maintain_order=True))}
        team = by_arm["team"]
        members = {a: p for a, p in by_arm.items() if a.startswith("member:")}
        best = max(members, key=lambda a: (members[a]["correct"].fill_null(False).mean(), -list(members).index(a)))
        row = {**{k: part[k][0] for k in labels}, "design": part["design"][0],
               "team_accuracy": float(team["correct"].fill_null(False).mean())}
        for name, other in (("self_consistency", by_arm["self_consistency"]), ("best_member", members[best])):
            diff = _paired(team, other)
            low, high = bootstrap_mean(diff, seed=seed)
            row.update({f"{name}_accuracy": float(other["correct"].fill_null(False).mean()),
                        f"gain_vs_{name}": float(diff.mean()), f"gain_vs_{name}_low": low,
                        f"gain_vs_{name}_high": high})
        row.update(best_member=best.removeprefix("member:"),
                   token_ratio=float(by_arm["self_consistency"]["token_ratio"].mean()))
        out.append(row)
    return pl.DataFrame(out)


def pareto_front(summary: pl.DataFrame, *, maximize: Sequence[str] = ("accuracy",),
                 minimize: Sequence[str] = ("tokens", "clock_s")) -> pl.DataFrame:
    """``summary`` with a ``pareto`` column: true where no other row is at least as good on
    every objective and better on one."""
    for column in (*maximize, *minimize):
        if column not in summary.columns:
            raise ArgumentError("objectives", f"must be columns of the summary {summary.columns}", column)
    score = np.column_stack([summary[c].cast(pl.Float64).to_numpy() for c in maximize]
                            + [-summary[c].cast(pl.Float64).to_numpy() for c in minimize])
    better_eq = (score[:, None, :] >= score[None, :, :]).all(axis=2)
    strictly = (score[:, None, :] > score[None, :, :]).any(axis=2)
    dominated = (better_eq & strictly).any(axis=0)
    return summary.with_columns(pareto=pl.Series(~dominated))


def scaling_exponents(table: pl.DataFrame, x: str, y: str, by: str | None = None) -> pl.DataFrame:
    """Per group of ``by``: the exponent ``b`` and factor ``c`` of ``y ≈ c · x^b`` fitted by
    least squares on the logs of the per-``x`` means (positive values only), and R²."""
    for role, column in (("x", x), ("y", y), ("by", by)):
        if column is not None and column not in table.columns:
            raise ArgumentError(role, f"must be a column of the table {table.columns}", column)
    rows = table.filter(pl.col("arm") == "team") if "arm" in table.columns else table
    means = rows.group_by([c for c in (by, x) if c]).agg(pl.col(y).cast(pl.Float64).mean()).filter(
        (pl.col(x) > 0) & (pl.col(y) > 0))
    out = []
    for part in means.partition_by(by, maintain_order=True) if by else [means]:
        lx, ly = np.log(part[x].cast(pl.Float64).to_numpy()), np.log(part[y].to_numpy())
        if np.unique(lx).size < 2:
            continue
        b, a = np.polyfit(lx, ly, 1)
        resid = ly - (a + b * lx)
        total = ((ly - ly.mean()) ** 2).sum()
        out.append({**({by: part[by][0]} if by else {}), "exponent": float(b), "factor": float(np.exp(a)),
                    "r2": float(1 - (resid ** 2).sum() / total) if total > 0 else 1.0, "points": part.height})
    return pl.DataFrame(out)


def _design_key(rows: pl.DataFrame, reference: dict[str, Any] | str) -> str:
    if isinstance(reference, str):
        if reference not in rows["design"].to_list():
            raise ArgumentError("reference", "must be a design of the table", reference)
        return reference
    match = rows
    for key, value in reference.items():
        if key not in rows.columns:
            raise ArgumentError("reference", f"must name grid columns {label_columns(rows)}", key)
        match = match.filter(pl.col(key) == value)
    keys = match["design"].unique().to_list()
    if len(keys) != 1:
        raise ArgumentError("reference", f"must pick exactly one design (it picks {len(keys)})", reference)
    return keys[0]


def _paired(team: pl.DataFrame, other: pl.DataFrame) -> np.ndarray:
    a = team.select("seed", t=pl.col("correct").fill_null(False).cast(pl.Float64))
    b = other.select("seed", o=pl.col("correct").fill_null(False).cast(pl.Float64))
    joined = a.join(b, on="seed")
    return (joined["t"] - joined["o"]).to_numpy()
