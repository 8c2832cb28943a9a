"""Timing helpers shared by the benchmark scripts (never imported by tests).

Why best-of-k: the machine is shared, so the fastest repeat is the best estimate of
what the code costs; every repeat builds a fresh ``Run`` so caches do not carry over.
"""

from __future__ import annotations

import asyncio
import gc
import json
import platform
import sys
import time
from typing import Any, Callable

import numpy as np

from llmteams_lab import Run
from llmteams_lab.backends import RoundBatch, RoundReplies
from llmteams_lab.spec import TeamSpec


def full_budget(spec: TeamSpec) -> TeamSpec:
    """Debate that runs every round of its budget (no early stop at consensus)."""
    return spec.replace(protocol=spec.protocol.replace(stop_at_consensus=False))


class ConstantBatchBackend:
    """A zero-latency *batched* backend: everyone answers option 0 at once, instantly.
    It isolates the engine's aggregated path (``logging="rounds"``) from any model."""

    def respond_round(self, batch: RoundBatch) -> RoundReplies:
        m = batch.acting.size
        zeros = np.zeros(m, dtype=np.int64)
        return RoundReplies(zeros, np.full(m, 1000, dtype=np.int64), np.zeros(m), zeros, zeros)

    async def aclose(self) -> None:
        return None


def time_run(spec: TeamSpec, backends: Callable[[], Any] | None, rounds: int, repeats: int,
             *, pause_gc: bool = False) -> dict[str, float]:
    """Best-of-``repeats`` seconds for ``rounds`` rounds (one warm-up round excluded):
    wall clock (``seconds``) and this process's CPU time (``cpu_seconds``; steadier on a
    shared machine, where other jobs stretch the wall clock but not our CPU time).

    ``pause_gc`` runs with the library's opt-in pause of CPython's cyclic garbage
    collector around each round (``Run(spec, pause_gc=True)``, ``runtime.collector``), to
    separate the engine's own work from the collector's (every event is a GC-tracked
    tuple subclass, and full collections re-traverse all events so far). Without it the
    collector runs as CPython normally runs it — a library's default.
    """

    async def once() -> tuple[float, float, int]:
        run = Run(spec, backends=backends() if backends else None, pause_gc=pause_gc)
        await run.step()  # warm-up: imports, first-round allocation
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            await run.step()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        events = len(run.events)
        await run.aclose()
        return elapsed, cpu, events

    results = [asyncio.run(once()) for _ in range(repeats)]
    return {"seconds": min(r[0] for r in results), "cpu_seconds": min(r[1] for r in results),
            "events": results[0][2]}


def emit(name: str, rows: list[dict[str, Any]]) -> None:
    print(json.dumps({
        "benchmark": name,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "machine": platform.machine(),
        "results": rows,
    }, indent=2))
