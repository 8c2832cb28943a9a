"""Sweep throughput: 10,000 simulated runs (n = 10, 20 rounds, debate) on 2 cores.

Measured in the same script, so the ratios compare like with like on a shared machine:

* ``loop``      a bare sequential ``run_sync`` loop (the reference) — timed on a sample of
                the runs and scaled (``--loop-sample``), unless ``--full-loop``;
* ``pool``      ``sweep(..., workers=2)`` writing to a parquet directory (rows on disk);
* ``inprocess`` ``sweep(..., workers=1)`` on a sample (the sweep's own per-run overhead);
* ``ray``       ``sweep(..., executor="ray", workers=2)`` (``--ray``; Ray's start-up is
                timed apart: a cluster is usually already up).

Per-run figures: wall seconds × workers / runs ("per-run cost on 2 workers") and the
speedup ``loop per-run wall / pool wall per run``. CPU seconds are this process's plus
its children's (``resource.getrusage``). Prints JSON.

    python bench/sweep_scale.py [--runs 10000] [--ray] [--logging messages|rounds]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import emit, full_budget  # noqa: E402

from llmteams_lab import run_sync, team  # noqa: E402
from llmteams_lab.experiments import sweep  # noqa: E402


def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):
    wall, c = time.perf_counter(), cpu()
    out = fn()
    return out, time.perf_counter() - wall, cpu() - c


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--loop-sample", type=int, default=1_000, help="runs of the bare loop actually timed")
    p.add_argument("--full-loop", action="store_true")
    p.add_argument("--ray", action="store_true")
    p.add_argument("--logging", default="messages")
    args = p.parse_args()
    base = full_budget(team(10, protocol="debate", max_rounds=20, logging=args.logging))
    runs, sample = args.runs, (args.runs if args.full_loop else min(args.loop_sample, args.runs))
    rows = []

    _, wall, c = timed(lambda: [run_sync(base.replace(seed=s)) for s in range(sample)])
    loop_run = wall / sample
    rows.append({"what": "bare run_sync loop", "runs_timed": sample, "wall_s": round(wall * runs / sample, 2),
                 "cpu_s": round(c * runs / sample, 2), "ms_per_run": round(loop_run * 1e3, 3)})

    _, wall, c = timed(lambda: sweep(base, seeds=range(sample)))
    rows.append({"what": "sweep in-process", "runs_timed": sample, "wall_s": round(wall * runs / sample, 2),
                 "cpu_s": round(c * runs / sample, 2), "ms_per_run": round(wall / sample * 1e3, 3),
                 "vs_loop": round(loop_run / (wall / sample), 3)})

    out = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        table, wall, c = timed(lambda: sweep(base, seeds=range(runs), workers=2, out=out / "pool"))
        assert table.height == runs
        rows.append({"what": "sweep pool, 2 workers, parquet out", "runs_timed": runs, "wall_s": round(wall, 2),
                     "cpu_s": round(c, 2), "ms_per_run_per_worker": round(wall * 2 / runs * 1e3, 3),
                     "speedup_vs_loop": round(loop_run * runs / wall, 3),
                     "per_run_cost_ratio": round(loop_run / (wall * 2 / runs), 3),
                     "target_wall_s": 15.0})
        pool_wall = wall
        if args.ray:
            from llmteams_lab.experiments.executors import make_executor

            _, start, _ = timed(lambda: make_executor("ray", 2))
            table, wall, c = timed(lambda: sweep(base, seeds=range(runs), executor="ray", workers=2,
                                                 out=out / "ray"))
            assert table.height == runs
            rows.append({"what": "sweep ray, 2 CPUs, parquet out", "runs_timed": runs, "wall_s": round(wall, 2),
                         "cpu_s_driver_only": round(c, 2), "ray_start_s": round(start, 2),
                         "vs_pool": round(wall / pool_wall, 3), "target_vs_pool": 1.3})
    finally:
        shutil.rmtree(out, ignore_errors=True)
    emit("sweep_scale", [{"cores": os.cpu_count(), "logging": args.logging, **r} for r in rows])


if __name__ == "__main__":
    main()
