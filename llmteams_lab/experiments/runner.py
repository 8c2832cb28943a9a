"""One task of a sweep: a batch of seeds of one design, run wherever the executor runs it.

Why batches: a 10-agent run takes a few milliseconds, so shipping runs one by one to a
worker would cost as much as the runs; a task carries one design spec and its seeds,
and all of a batch's runs share one event loop. ``run_task`` is a plain module-level
function of plain data, so it pickles for worker processes and Ray alike, and returns
the batch's rows as columns (column -> list of values: each name once, not once per
row, so a 200-run result pickles to a third of the bytes and becomes a frame without a
per-row dict walk), computed from each run's records without polars
(``experiments.outcome``).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from llmteams_lab.errors import LlmTeamsError
from llmteams_lab.experiments.baselines import baseline_rows
from llmteams_lab.experiments.lockstep import lockstep_refusal, lockstep_rows
from llmteams_lab.experiments.outcome import outcome_row
from llmteams_lab.runtime import Run
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import BACKEND_KINDS

__all__ = ["Task", "as_columns", "fast_spec", "run_task"]


@dataclass(frozen=True)
class Task:
    """Seeds of one design to run.

    seeds  (seed, arms) pairs; arms: "team" and/or "baselines" (the team always runs:
           the baselines are matched to its token spend)
    fast   run with aggregated logging where that gives the same row (see :func:`fast_spec`)
           and, with ``lockstep``, all seeds at once where the design allows
           (``experiments.lockstep``: the same rows)
    """

    design: str
    labels: dict[str, Any]
    spec: TeamSpec
    seeds: tuple[tuple[int, tuple[str, ...]], ...]
    fast: bool = True
    lockstep: bool = True


def fast_spec(spec: TeamSpec) -> TeamSpec | None:
    """``spec`` with aggregated logging, if its row would be the same as with its own
    logging (``None`` otherwise). A sweep keeps no events, only the outcome row, and the
    row's counts are the same either way (``tests/experiments/test_outcome.py``) —
    except for backend faults, whose failed calls only per-message logging records.
    Per-message logging of a 10-agent team is about half of its run's time."""
    if spec.logging == "rounds" or any(f.kind in BACKEND_KINDS for f in spec.faults):
        return None
    return spec.replace(logging="rounds")


def run_task(task: Task) -> dict[str, list[Any]]:
    """The rows of every (seed, arm) of ``task``, as columns (see :func:`as_columns`).
    Called in a running event loop (a notebook's, in-process executor), the batch runs
    on a fresh loop in a worker thread and this call blocks until it is done — as
    ``run_sync`` does."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return as_columns(asyncio.run(_run_all(task)))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmteams-sweep") as thread:
        return as_columns(thread.submit(asyncio.run, _run_all(task)).result())


def as_columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as columns: every key of any row, in first-seen order; ``None`` where a row
    lacks it."""
    names = dict.fromkeys(key for row in rows for key in row)
    return {name: [row.get(name) for row in rows] for name in names}


async def _run_all(task: Task) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seeds = [seed for seed, _ in task.seeds]
    quick = fast_spec(task.spec) if task.fast else None
    # one serialisation per design, not per run (run id, RunStarted): ``TeamSpec.reseeded``
    quick_specs = quick.reseeded(seeds) if quick is not None else repeat(None)
    # the same rows, all seeds at once, where the design allows (``experiments.lockstep``)
    lockstep = task.fast and task.lockstep and lockstep_refusal(task.spec, seeds) is None
    together = iter(lockstep_rows(task.spec, seeds)) if lockstep else None
    design = {**task.labels, "design": task.design}
    for (seed, arms), spec, quick_spec in zip(task.seeds, task.spec.reseeded(seeds), quick_specs):
        team = next(together) if together is not None else await _run_one(spec, quick_spec)
        key = {**design, "seed": seed}
        if "team" in arms:
            rows.append({**key, "arm": "team", **team, "samples": 1, "token_ratio": 1.0})
        if "baselines" in arms:
            rows += [{**key, **row} for row in baseline_rows(spec, team["tokens"])]
    return rows


async def _run_one(spec: TeamSpec, quick: TeamSpec | None) -> dict[str, Any]:
    """One run's outcome row (``quick``: the same run with aggregated logging, if that
    gives the same row; see :func:`fast_spec`). A run that fails (failure policy
    ``stop``, a refused key) is a row too, with its ``reason`` and ``error``: a design
    that fails is a result. The row's run id is the spec's own, however it was logged."""
    run = Run(spec) if quick is None else Run(quick, run_id=f"{spec.name}-{spec.fingerprint()}")
    error = None
    try:
        await run.run()
    except LlmTeamsError as err:
        error = f"{type(err).__name__}: {err}"[:500]
    finally:
        await run.aclose()
    result = run.result()
    reason = result.reason if error is None else (run.end_reason or "error")
    row = outcome_row(result.records, reason, result.decision, result.correct, result.rounds)
    return {"run_id": run.run_id, "n_agents": len(spec.agents), **row, "error": error}
