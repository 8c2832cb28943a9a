"""Asynchronous simulated deliberation: message deliveries per second (issue 11 targets).

An asynchronous debate on a complete graph that never stops at consensus, so agents
keep taking turns on what arrives: n = 64 with per-message logging (every send and
delivery an event; target ≥ 300,000 delivered messages per second on one core) and
n = 1,000 with aggregated logging (target ≥ 2 M deliveries per second). The same team
in synchronous rounds is measured in the same run as the reference. Prints JSON.

    python bench/async_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
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


def measure(n: int, logging: str, execution: str, slices: int, repeats: int) -> dict:
    spec = _spec(n, logging, execution, slices)

    async def once() -> tuple[float, float, int, int]:
        run = Run(spec)
        started, cpu = time.perf_counter(), time.process_time()
        await run.run()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        delivered = sum(e.count for e in run.events if e.kind == "MessageDelivered")
        events = len(run.events)
        await run.aclose()
        return elapsed, cpu, delivered, events

    best = min((asyncio.run(once()) for _ in range(repeats)), key=lambda r: r[0])
    elapsed, cpu, delivered, events = best
    row = {"n": n, "logging": logging, "execution": execution, "slices_or_rounds": slices,
           "seconds": round(elapsed, 4), "cpu_seconds": round(cpu, 4), "delivered": delivered, "events": events,
           "deliveries_per_s": round(delivered / elapsed), "events_per_s": round(events / elapsed)}
    target = TARGETS.get((n, logging))
    if target is not None and execution == "asynchronous":
        row["target"] = {"deliveries_per_s": target, "met": delivered / elapsed >= target}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer slices and repeats (smoke run)")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    rows = []
    for n, logging, slices in ((64, "messages", 20), (1000, "rounds", 10)):
        slices = max(2, slices // 5) if args.quick else slices
        for execution in ("asynchronous", "synchronous"):
            rows.append(measure(n, logging, execution, slices, repeats))
    emit("async_throughput", rows)


if __name__ == "__main__":
    main()
