"""Where a sweep's 10-agent run spends its time: a cProfile of one batch, by area.

Runs one batch of ``--runs`` runs (n = 10, 20 rounds, debate, every round run) the way a
sweep worker does (``experiments.runner.run_task``), once with each spec's own
per-message logging and once on the sweep's fast path (aggregated logging), and
attributes each function's own time to an area of the code by its file (a builtin's
time — creating event tuples, json, list appends — to the area of the code calling it). cProfile
inflates Python-heavy code more than numpy calls, so read the shares, not the
milliseconds; ``cpu_ms_per_run`` is measured without the profiler. Prints JSON.

``sweep_share``: without the profiler, CPU per run of the sweep's task (``run_task``:
specs per seed, run ids, outcome rows, the batch's columns) against the engine alone
running the same fast-path specs (built beforehand, ``Run(spec).run()`` then
``result()``), alternating, best of ``--repeats``: what the sweep adds around a run.

    python bench/sweep_profile.py [--runs 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import emit, full_budget  # noqa: E402

from llmteams_lab import Run, team  # noqa: E402
from llmteams_lab.experiments.runner import Task, fast_spec, run_task  # noqa: E402

AREAS = (  # first match wins: (area, substring of the file path or function)
    ("network: messages and their events", "runtime/network.py"),
    ("event log (records)", "runtime/log.py"),
    ("event store (columns)", "runtime/store.py"),
    ("simulated agents (numpy model)", "deliberation/agents.py"),
    ("workload: apply, tally, decide", "workloads/"),
    ("protocol", "protocols/"),
    ("engine round loop + dispatch", "runtime/"),
    ("spec: validation, to_json, fingerprint", "spec/"),
    ("spec: validation, to_json, fingerprint", "dataclasses.py"),
    ("spec: validation, to_json, fingerprint", "json/"),
    ("question generation", "questions.py"),
    ("question generation", "random.py"),
    ("sweep: outcome row, runner", "experiments/"),
    ("numpy internals", "numpy"),
    ("asyncio", "asyncio"),
)


def area_of(path: str, name: str) -> str:
    for area, needle in AREAS:
        if needle in path or needle == name:
            return area
    return "other (json, hashing, builtins)"


def profile(task: Task) -> dict[str, float]:
    prof = cProfile.Profile()
    prof.runcall(run_task, task)
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    shares: dict[str, float] = {}
    for (path, _line, name), (_cc, _nc, tottime, _ct, callers) in stats.items():
        if path == "~" and callers:  # a builtin (tuple.__new__, json, list.append ...): its callers' area
            for (cpath, _cl, cname), (_c, _n, tt, _t) in callers.items():
                area = area_of(cpath, cname)
                shares[area] = shares.get(area, 0.0) + tt
            continue
        area = area_of(path, name)
        shares[area] = shares.get(area, 0.0) + tottime
    total = sum(shares.values())
    return {k: round(v / total, 3) for k, v in sorted(shares.items(), key=lambda kv: -kv[1])}


def sweep_share(base, runs: int, repeats: int) -> dict[str, float]:
    """CPU ms per run: the sweep's task against the engine alone (see the docstring)."""
    task = Task("profile", {}, base, tuple((s, ("team",)) for s in range(runs)), True)
    specs = [fast_spec(base).replace(seed=s) for s in range(runs)]
    for spec in specs:
        spec.to_json()  # serialised beforehand: the engine alone pays no spec JSON

    async def engine_alone() -> None:
        for spec in specs:
            run = Run(spec, run_id="bench")
            await run.run()
            await run.aclose()
            run.result()

    best_task = best_engine = float("inf")
    for _ in range(repeats):
        cpu = time.process_time()
        asyncio.run(engine_alone())
        best_engine = min(best_engine, time.process_time() - cpu)
        cpu = time.process_time()
        run_task(task)
        best_task = min(best_task, time.process_time() - cpu)
    return {"task_cpu_ms_per_run": round(best_task / runs * 1e3, 3),
            "engine_alone_cpu_ms_per_run": round(best_engine / runs * 1e3, 3),
            "sweep_share": round(1 - best_engine / best_task, 3)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    base = full_budget(team(10, protocol="debate", max_rounds=20)).replace(seed=0)
    rows = []
    for fast in (False, True):
        task = Task("profile", {}, base, tuple((s, ("team",)) for s in range(args.runs)), fast)
        run_task(task)  # warm-up: imports, caches
        cpu = time.process_time()
        run_task(task)
        cpu_ms = (time.process_time() - cpu) / args.runs * 1e3
        rows.append({"logging": "aggregated (sweep fast path)" if fast else "per message (spec's own)",
                     "cpu_ms_per_run": round(cpu_ms, 3), "share_of_time_by_area": profile(task)})
    rows.append({"what": "sweep's own share of a fast-path run (no profiler)", "runs": args.runs,
                 **sweep_share(base, args.runs, args.repeats)})
    emit("sweep_profile", rows)


if __name__ == "__main__":
    main()
