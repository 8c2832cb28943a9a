"""Asynchronous simulated deliberation: message deliveries per second (issue 11 targets).

An asynchronous debate on a complete graph that never stops at consensus, so agents
keep taking turns on what arrives: n = 64 with per-message logging (every send and
delivery an event; target ≥ 300,000 delivered messages per second on one core) and
n = 1,000 with aggregated logging (target ≥ 2 M deliveries per second). The same team
in synchronous rounds, and the asynchronous team with every message followed one at a
time (``runtime.transit``, the path runs that act on single messages take — here the
reference the bulk path of ``runtime.bulk`` is measured against; same events), are
measured in the same run. Wall and CPU seconds are both printed: on a shared machine
read the CPU figures (each row also gives the load average when it ended, and the CPU
microseconds per reply: an asynchronous turn's whole cost). Prints JSON.

    python bench/async_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from _timing import emit, full_budget

from llmteams_lab import Run, team

TARGETS = {(64, "messages"): 300_000, (1000, "rounds"): 2_000_000}


def _spec(n: int, logging: str, execution: str, slices: int):
    spec = full_budget(team(n, topology="complete", protocol="debate", logging=logging, max_rounds=slices,
                            competence=0.4, conformity=0.3, seed=1))
    if execution == "synchronous":
        return spec
    return spec.replace(execution=execution, network={"delay_s": 0.05, "jitter": 0.3, "tick_s": 1.0})


def measure(n: int, logging: str, execution: str, slices: int, repeats: int, path: str = "bulk") -> dict:
    spec = _spec(n, logging, execution, slices)

    async def once() -> tuple[float, float, int, int, int]:
        run = Run(spec)
        if path == "one at a time":
            run.execution.bulk = None  # the per-message path (runtime.transit)
        started, cpu = time.perf_counter(), time.process_time()
        await run.run()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        delivered = sum(e.count for e in run.events if e.kind == "MessageDelivered")
        replies = sum(e.count for e in run.events if e.kind in ("AgentReplied", "AnswersTallied"))
        events = len(run.events)
        await run.aclose()
        return elapsed, cpu, delivered, events, replies

    best = min((asyncio.run(once()) for _ in range(repeats)), key=lambda r: r[0])
    elapsed, cpu, delivered, events, replies = best
    row = {"n": n, "logging": logging, "execution": execution, "path": path if execution != "synchronous" else "rounds",
           "slices_or_rounds": slices, "seconds": round(elapsed, 4), "cpu_seconds": round(cpu, 4),
           "delivered": delivered, "events": events, "deliveries_per_s": round(delivered / elapsed),
           "deliveries_per_cpu_s": round(delivered / cpu), "events_per_s": round(events / elapsed),
           "cpu_us_per_reply": round(cpu / replies * 1e6, 1), "load_average": os.getloadavg()[0]}
    target = TARGETS.get((n, logging))
    if target is not None and execution == "asynchronous" and path == "bulk":
        row["target"] = {"deliveries_per_cpu_s": target, "met": delivered / cpu >= target}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer slices and repeats (smoke run)")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    rows = []
    for n, logging, slices, single in ((64, "messages", 20, 20), (1000, "rounds", 10, 1)):
        slices = max(2, slices // 5) if args.quick else slices
        bulk = measure(n, logging, "asynchronous", slices, repeats)
        one = measure(n, logging, "asynchronous", min(single, slices), repeats, "one at a time")
        bulk["vs_one_at_a_time_cpu"] = round(bulk["deliveries_per_cpu_s"] / one["deliveries_per_cpu_s"], 2)
        rows += [bulk, one, measure(n, logging, "synchronous", slices, repeats)]
    emit("async_throughput", rows)


if __name__ == "__main__":
    main()
