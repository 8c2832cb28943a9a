"""Parameter sweeps: run a spec over a grid of variations × seeds, one row per run.

Why a function of its own: the classic questions (does accuracy grow with team size —
the jury theorem? how do messages grow with n on a star vs a complete graph?) need
hundreds of seeded runs. ``sweep`` varies a base spec, runs each variant on each seed
(in-process, in worker processes, or on Ray), and returns a polars table of outcomes
that plots and notebooks consume directly.

Grid keys:
  n                   team size (agents a0..a{n-1}, each a copy of the base spec's first agent)
  topology, protocol  the kind of each (e.g. ``topology=["star", "complete"]``)
  max_rounds          budgets.max_rounds
  any AgentSpec field applied to every agent (``competence``, ``conformity`` ...)
"""

from __future__ import annotations

import itertools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Iterable, Mapping, Sequence

import polars as pl

from llmteams_lab.errors import SpecError
from llmteams_lab.metrics import convergence, overhead
from llmteams_lab.runtime import run_sync
from llmteams_lab.spec import AgentSpec, TeamSpec
from llmteams_lab.spec.team import check_team_size

__all__ = ["sweep", "variant"]

_AGENT_FIELDS = {f for f in AgentSpec.__dataclass_fields__ if f not in ("id", "role")}


def variant(spec: TeamSpec, **changes: Any) -> TeamSpec:
    """``spec`` with the sweep's changes applied (see the module docstring for keys)."""
    agents = list(spec.agents)
    if "n" in changes:
        n = check_team_size("n", changes.pop("n"))
        template = agents[0]
        agents = [template.replace(id=f"a{i}", role="leader" if (i == 0 and template.role == "leader")
                                   else "member") for i in range(n)]
    profile = {k: changes.pop(k) for k in list(changes) if k in _AGENT_FIELDS}
    if profile:
        agents = [a.replace(**profile) for a in agents]
    out: dict[str, Any] = {"agents": tuple(agents)}
    if "topology" in changes:
        out["topology"] = spec.topology.replace(kind=changes.pop("topology"))
    if "protocol" in changes:
        out["protocol"] = spec.protocol.replace(kind=changes.pop("protocol"))
    if "max_rounds" in changes:
        out["budgets"] = spec.budgets.replace(max_rounds=changes.pop("max_rounds"))
    for key in ("seed", "logging", "name"):
        if key in changes:
            out[key] = changes.pop(key)
    if changes:
        raise SpecError("grid", f"keys must be n, topology, protocol, max_rounds, seed, logging or agent "
                        f"fields {sorted(_AGENT_FIELDS)}", sorted(changes))
    return spec.replace(**out)


def _one(job: tuple[TeamSpec, dict[str, Any]]) -> dict[str, Any]:
    spec, params = job
    result = run_sync(spec)
    events = result.events
    conv = convergence(events)
    comm = overhead(events)
    last = conv.tail(1)
    return {
        **params,
        "run_id": result.run_id,
        "n": len(spec.agents),
        "reason": result.reason,
        "decision": result.decision,
        "correct": result.correct,
        "rounds": result.rounds,
        "agreement": float(last["agreement"][0]) if last.height and last["agreement"][0] is not None else None,
        "first_round_accuracy": float(conv["accuracy"][0]) if conv.height and conv["accuracy"][0] is not None
        else None,
        "messages": int(comm["messages"].sum()),
        "tokens": int(comm["tokens_in"].sum() + comm["tokens_out"].sum()),
        "clock_s": float(events.filter(pl.col("kind") == "RunEnded")["t_end"].max() or 0.0),
    }


def sweep(spec: TeamSpec, grid: Mapping[str, Sequence[Any]] | None = None, *, seeds: Iterable[int] = range(10),
          workers: int = 1, executor: str = "local", progress: bool = False) -> pl.DataFrame:
    """Run every grid combination on every seed; one row of outcomes per run.

    executor  "local" (this process; ``workers`` > 1 uses worker processes) or "ray"
              (needs the ``[ray]`` extra; started once, reused)
    progress  show a tqdm progress bar (useful in notebooks for long sweeps)
    """
    grid = dict(grid or {})
    keys = list(grid)
    jobs = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, combo))
        base = variant(spec, **params)
        jobs += [(base.replace(seed=s), {**params, "seed": s}) for s in seeds]
    rows = _execute(jobs, workers, executor, progress)
    return pl.DataFrame(rows)


def _execute(jobs: list, workers: int, executor: str, progress: bool) -> list[dict[str, Any]]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="sweep")
    try:
        if executor == "ray":
            from llmteams_lab.experiments.ray_executor import map_ray

            return map_ray(_one, jobs, bar)
        if executor != "local":
            raise SpecError("executor", "must be one of ['local', 'ray']", executor)
        if workers <= 1:
            out = []
            for job in jobs:
                out.append(_one(job))
                if bar is not None:
                    bar.update(1)
            return out
        # spawn, not fork: polars and numpy start threads, and forking a threaded process can deadlock
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            out = []
            for row in pool.map(_one, jobs, chunksize=max(1, len(jobs) // (workers * 4))):
                out.append(row)
                if bar is not None:
                    bar.update(1)
            return out
    finally:
        if bar is not None:
            bar.close()
