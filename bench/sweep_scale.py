"""Sweep throughput: 10,000 simulated runs (n = 10, 20 rounds, debate) on 2 cores.

Measured in the same script, so the ratios compare like with like on a shared machine:

* ``loop``      a bare sequential ``run_sync`` loop (the reference) — timed on a sample of
                the runs and scaled (``--loop-sample``), unless ``--full-loop``;
* ``pool``      ``sweep(..., workers=2)`` writing to a parquet directory (rows on disk);
* ``inprocess`` ``sweep(..., workers=1)`` on a sample (the sweep's own per-run overhead);
                this design is a simulated, fault-free debate, so its seeds run in lockstep
                (``experiments.lockstep``); ``engine`` is the same sample with lockstep off
                (every run in the engine, aggregated logging — the path before lockstep);
* ``ray``       ``sweep(..., executor="ray", workers=2)`` (``--ray``; Ray's start-up is
                timed apart: a cluster is usually already up).

Per-run figures: wall seconds × workers / runs ("per-run cost on 2 workers") and the
speedup ``loop per-run wall / pool wall per run``; ``per_run_cpu_ratio`` is the same in
CPU time (this process's plus its children's, ``resource.getrusage``, plus Ray's live
processes read from ``/proc``), which other jobs on
a shared machine stretch far less than the wall clock. The load average before and after
is printed: on a busy machine, read CPU figures. Prints JSON.

    python bench/sweep_scale.py [--runs 10000] [--ray] [--repeats 2] [--logging messages|rounds]
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
from llmteams_lab.experiments.runner import Task, run_task  # noqa: E402


def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def live_descendants_cpu() -> float:
    """CPU seconds of the processes descended from this one that are still alive (Ray's
    raylet, GCS and workers; Linux ``/proc``). Finished children are in ``cpu()``."""
    parent, cpu_of = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        cpu_of[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    mine, frontier = set(), [os.getpid()]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parent.items() if pp == pid and p not in mine]
        mine.update(kids)
        frontier += kids
    return sum(cpu_of[p] for p in mine)


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
    p.add_argument("--repeats", type=int, default=1, help="pool (and Ray) sweeps, alternating; best kept")
    args = p.parse_args()
    base = full_budget(team(10, protocol="debate", max_rounds=20, logging=args.logging))
    runs, sample = args.runs, (args.runs if args.full_loop else min(args.loop_sample, args.runs))
    rows = []

    load = os.getloadavg()[0]
    _, wall, c = timed(lambda: [run_sync(base.replace(seed=s)) for s in range(sample)])
    loop_run, loop_cpu = wall / sample, c / sample
    rows.append({"what": "bare run_sync loop", "runs_timed": sample, "wall_s": round(wall * runs / sample, 2),
                 "cpu_s": round(c * runs / sample, 2), "ms_per_run": round(loop_run * 1e3, 3)})

    _, wall, c = timed(lambda: sweep(base, seeds=range(sample)))
    rows.append({"what": "sweep in-process", "runs_timed": sample, "wall_s": round(wall * runs / sample, 2),
                 "cpu_s": round(c * runs / sample, 2), "ms_per_run": round(wall / sample * 1e3, 3),
                 "vs_loop": round(loop_run / (wall / sample), 3)})
    engine = Task("engine", {}, base, tuple((s, ("team",)) for s in range(sample)), True, False)
    _, wall, c = timed(lambda: run_task(engine))
    rows.append({"what": "the engine path in-process (a task without lockstep)", "runs_timed": sample,
                 "ms_per_run": round(wall / sample * 1e3, 3), "cpu_ms_per_run": round(c / sample * 1e3, 3),
                 "vs_loop": round(loop_run / (wall / sample), 3)})

    out = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        if args.ray:
            from llmteams_lab.experiments.executors import make_executor

            _, ray_start, _ = timed(lambda: make_executor("ray", 2))
        best: dict[str, tuple[float, float]] = {}
        for repeat in range(args.repeats):  # pool and Ray alternate: both see the same neighbours
            for name, kwargs in (("pool", {"workers": 2}), ("ray", {"executor": "ray", "workers": 2})):
                if name == "ray" and not args.ray:
                    continue
                where = out / f"{name}{repeat}"
                ray_cpu = live_descendants_cpu()
                table, wall, c = timed(lambda kw=kwargs, where=where: sweep(base, seeds=range(runs), out=where, **kw))
                c += live_descendants_cpu() - ray_cpu  # Ray's processes outlive the sweep
                assert table.height == runs
                if name not in best or wall < best[name][0]:
                    best[name] = (wall, c)
        wall, c = best["pool"]
        rows.append({"what": "sweep pool, 2 workers, parquet out", "runs_timed": runs, "wall_s": round(wall, 2),
                     "cpu_s": round(c, 2), "ms_per_run_per_worker": round(wall * 2 / runs * 1e3, 3),
                     "speedup_vs_loop": round(loop_run * runs / wall, 3),
                     "per_run_cost_ratio": round(loop_run / (wall * 2 / runs), 3),
                     "per_run_cpu_ratio": round(loop_cpu / (c / runs), 3), "target_wall_s": 15.0})
        if args.ray:
            rwall, rc = best["ray"]
            rows.append({"what": "sweep ray, 2 CPUs, parquet out", "runs_timed": runs, "wall_s": round(rwall, 2),
                         "cpu_s": round(rc, 2), "ray_start_s": round(ray_start, 2),
                         "vs_pool": round(rwall / wall, 3), "target_vs_pool": 1.3})
    finally:
        shutil.rmtree(out, ignore_errors=True)
    emit("sweep_scale", [{"cores": os.cpu_count(), "logging": args.logging, "load_before": round(load, 2),
                          "load_after": round(os.getloadavg()[0], 2), **r} for r in rows])


if __name__ == "__main__":
    main()
