"""Design sweeps: every design of a grid on the same seeds, streamed to disk, resumable.

Why: a team design is judged over many seeded runs, across sizes, protocols, fault
scenarios and models, against a fair baseline. ``sweep`` builds the designs
(``experiments.grid``), splits (design, seed) runs into batches, runs them on an
executor (``experiments.executors``: in-process, a local process pool, Ray), writes each
finished batch as a parquet part (``experiments.store``) and returns the table — one
row per (design, seed, arm), sorted by design then seed, identical on every executor.

Paired seeds: every design runs on the same seeds, and a run's question and fault
draws depend on its seed only, so two designs are compared on the same questions
under the same fault draws (``metrics.designs.paired_differences`` uses this).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import polars as pl

from llmteams_lab.errors import ArgumentError, BudgetExceededError
from llmteams_lab.experiments.baselines import check_baselines
from llmteams_lab.experiments.cost import CostBound, uses_llm, worst_case_cost
from llmteams_lab.experiments.executors import Executor, check_executor, make_executor
from llmteams_lab.experiments.grid import Design, designs
from llmteams_lab.experiments.runner import Task, run_task
from llmteams_lab.experiments.store import ROW_SCHEMA, ResultStore, batch_frame, in_order
from llmteams_lab.spec import TeamSpec

__all__ = ["sweep"]

DEFAULT_MAX_COST_USD = 1.0


def sweep(base: TeamSpec, grid: Mapping[str, Any] | None = None, *, seeds: Iterable[int] = range(10),
          out: Any = None, executor: str = "local", workers: int = 1, ray_address: str | None = None,
          baselines: bool = False, batch_size: int | None = None, progress: bool = False,
          max_cost_usd: float = DEFAULT_MAX_COST_USD, yes: bool = False, logging: str = "auto",
          say: Callable[[str], None] | None = None) -> pl.DataFrame:
    """Run every design of ``grid`` on every seed; one row per (design, seed, arm).

    grid         spec paths -> values (see ``experiments.grid``), plus ``faults`` and
                 ``failure_policy`` as named scenarios
    out          a directory: rows stream there batch by batch and a re-run resumes
                 (``None``: kept in memory only)
    executor     "local" (``workers`` = 1: this process; more: worker processes) or "ray"
                 (``ray_address`` joins a cluster; see ``experiments.ray_executor``)
    baselines    add the self-consistency and single-member arms (``experiments.baselines``)
    batch_size   runs per task (default: guided — 200 runs while many are left, down to 16
                 at the end, so no worker idles behind a big last task)
    progress     a tqdm bar with ETA; say: where messages go (default: stderr)
    max_cost_usd an LLM-backed sweep whose worst case is above this needs ``yes=True``
    logging      "auto": wherever the row is the same, runs log aggregated (about twice as
                 fast for small teams; ``runner.fast_spec``) and a batch of seeds of a
                 simulated, fault-free debate or vote runs in lockstep (``experiments.lockstep``:
                 the same rows, ~10× less per run for 10 agents); "spec": every run in
                 the engine, as its spec says
    """
    say = say or _stderr
    seeds = _seeds(seeds)
    if logging not in ("auto", "spec"):
        raise ArgumentError("logging", "must be one of ['auto', 'spec']", logging)
    all_designs = designs(base, grid)
    if baselines:
        for design in all_designs:
            check_baselines(design.spec)
    check_executor(executor, workers, ray_address)
    plan = _Plan(base, list(grid or {}), all_designs, seeds, baselines, workers, batch_size, logging == "auto")
    store = ResultStore(out).open() if out is not None else None
    try:
        tasks = _prepare(plan, store, max_cost_usd, yes, say)
        schema = _schema(all_designs)
        frames = _execute(tasks, lambda: make_executor(executor, workers, ray_address), store, schema,
                          _bar(plan, tasks, progress))
        if store is not None:
            return store.table()
        table = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
        return in_order(table, [d.key for d in all_designs])
    finally:
        if store is not None:
            store.close()


@dataclass(frozen=True)
class _Plan:
    """What a sweep runs: its designs and seeds and how they are cut into tasks."""

    base: TeamSpec
    grid_keys: list[str]
    designs: list[Design]
    seeds: list[int]
    baselines: bool
    workers: int
    batch_size: int | None
    fast: bool

    @property
    def runs(self) -> int:
        return len(self.designs) * len(self.seeds)


def _prepare(plan: _Plan, store: ResultStore | None, max_cost_usd: float, yes: bool,
             say: Callable[[str], None]) -> list[Task]:
    """Record the sweep, find what is left to run, check its cost, cut it into tasks."""
    if store is not None:
        store.record(_manifest(plan))
    done = _done_arms(store)
    jobs = _jobs(plan.designs, plan.seeds, plan.baselines, done)
    if store is not None and done:
        say(f"resuming: {plan.runs - len(jobs):,} of {plan.runs:,} runs already in {store.root}")
    _check_cost(jobs, max_cost_usd, yes, say)
    return _tasks(jobs, plan.workers, plan.batch_size, plan.fast)


def _execute(tasks: list[Task], executor: Callable[[], Executor], store: ResultStore | None,
             schema: dict[str, Any], bar: Any) -> list[pl.DataFrame]:
    """Run the tasks, writing each finished batch to ``store`` (or keeping it in memory).
    No task, no executor: a finished sweep starts no workers, nor Ray."""
    frames: list[pl.DataFrame] = []
    if not tasks:
        return frames
    runner = executor()
    try:
        for columns in runner.imap_unordered(run_task, tasks):
            frame = batch_frame(columns, schema)
            if store is not None:
                store.append(frame)
            else:
                frames.append(frame)
            if bar is not None:
                bar.update(len(set(zip(columns.get("design", ()), columns.get("seed", ())))))
    finally:
        runner.close()
        if bar is not None:
            bar.close()
    return frames


def _seeds(seeds: Iterable[int]) -> list[int]:
    out = list(seeds)
    for s in out:
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            raise ArgumentError("seeds", "must be integers >= 0", s)
    if not out or len(set(out)) != len(out):
        raise ArgumentError("seeds", "must be a non-empty list of distinct integers", out[:10])
    return out


def _schema(all_designs: list[Design]) -> dict[str, Any]:
    """The table's column types: each grid key's (inferred over every design), then the rest."""
    labels: dict[str, Any] = {}
    for key in all_designs[0].labels:
        values = [d.labels[key] for d in all_designs]
        labels[key] = pl.Series(values, strict=False).dtype if any(v is not None for v in values) else pl.String
    clash = sorted(set(labels) & set(ROW_SCHEMA))
    if clash:
        raise ArgumentError("grid", f"keys must not be result columns {clash}", clash)
    return {**labels, **ROW_SCHEMA}


def _manifest(plan: _Plan) -> dict[str, Any]:
    return {"version": 1, "base": plan.base.to_dict(), "grid_keys": plan.grid_keys, "seeds": plan.seeds,
            "baselines": plan.baselines,
            "designs": [{"key": d.key, "labels": d.labels, "spec": d.spec.to_dict()} for d in plan.designs]}


def _done_arms(store: ResultStore | None) -> dict[tuple[str, int], set[str]]:
    """Arms already written per (design, seed): "team", "baselines"."""
    if store is None or not store.parts():
        return {}
    frame = pl.read_parquet(store.parts(), columns=["design", "seed", "arm"])
    done: dict[tuple[str, int], set[str]] = {}
    for design, seed, arm in frame.iter_rows():
        done.setdefault((design, seed), set()).add("team" if arm == "team" else "baselines")
    return done


def _jobs(all_designs: list[Design], seeds: list[int], baselines: bool,
          done: dict[tuple[str, int], set[str]]) -> list[tuple[Design, int, tuple[str, ...]]]:
    wanted = ("team", "baselines") if baselines else ("team",)
    jobs = []
    for design in all_designs:
        for seed in seeds:
            arms = tuple(a for a in wanted if a not in done.get((design.key, seed), ()))
            if arms:
                jobs.append((design, seed, arms))
    return jobs


def _tasks(jobs: list[tuple[Design, int, tuple[str, ...]]], workers: int,
           batch_size: int | None, fast: bool) -> list[Task]:
    """Batches of one design's seeds. Default size: *guided* — a share of the runs left
    (an eighth of them per worker), at most 200 and at least 16 runs (fewer in a sweep
    too small to give every worker eight such batches), so tasks are big
    while there is much to do (a task is one round trip to a worker) and small at the
    end, where a big last task would leave the other workers idle."""
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                   or batch_size < 1):
        raise ArgumentError("batch_size", "must be an integer >= 1", batch_size)
    tasks: list[Task] = []
    current: list[tuple[int, tuple[str, ...]]] = []
    floor = min(16, math.ceil(len(jobs) / (8 * workers)))  # a small sweep: its batches stay small
    size = _guided(len(jobs), workers, batch_size, floor)
    for i, (design, seed, arms) in enumerate(jobs):
        current.append((seed, arms))
        last = i + 1 == len(jobs) or jobs[i + 1][0] is not design
        if last or len(current) == size:
            tasks.append(Task(design.key, design.labels, design.spec, tuple(current), fast))
            current = []
            size = _guided(len(jobs) - i - 1, workers, batch_size, floor)
    return tasks


def _guided(left: int, workers: int, batch_size: int | None, floor: int) -> int:
    """The size of the next batch when ``left`` runs are still to be cut."""
    if batch_size is not None:
        return batch_size
    return max(1, floor, min(200, math.ceil(left / (8 * workers))))


def _check_cost(jobs: list, max_cost_usd: float, yes: bool, say: Callable[[str], None]) -> CostBound | None:
    llm = [design.spec.replace(seed=seed) for design, seed, _ in jobs if uses_llm(design.spec)]
    if not llm:
        return None
    bound = worst_case_cost(llm)
    say(bound.describe())
    if bound.usd > max_cost_usd and not yes:
        raise BudgetExceededError(f"this sweep could spend up to ${bound.usd:,.2f} (above max_cost_usd = "
                                  f"${max_cost_usd:,.2f}); pass yes=True (CLI: --yes) to run it anyway")
    return bound


def _bar(plan: _Plan, tasks: list[Task], progress: bool) -> Any:
    """A tqdm bar (with ETA) over the runs left, if asked for and there are any."""
    total = sum(len(t.seeds) for t in tasks)
    if not progress or not total:
        return None
    from tqdm.auto import tqdm

    skipped = plan.runs - total
    return tqdm(total=total, desc="sweep", unit="run", postfix={"resumed": skipped} if skipped else None)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)

