"""What the endpoint limiter costs per call (issue 16; target ≤ 50 µs), against no
limiter in the same run.

Three measurements, each alternating limited and unlimited repeats (best of
``--repeats``, process CPU time, so other jobs on the shared machine stretch neither):

* ``asyncio``: the real-time :class:`~llmteams_lab.backends.limits.Limiter` as the openai
  backend uses it — ``await admit(tokens)`` then ``release()`` around an awaited call —
  for 20,000 calls, limits set high enough never to hold a call (so what is measured is
  the bookkeeping, not a wait), against the same loop without the limiter;
* ``openai``: 5 rounds of 32 agents through the real ``openai`` client against ``serve``
  on 127.0.0.1 (2 ms replies; the server runs in this process, so its CPU is counted
  too), with ``EndpointSpec.limits`` that never bind and without; ``noise_us_per_call``
  is the spread of the unlimited repeats — the difference is within it;
* ``simulated``: a 64-agent debate of simulated agents, 20 rounds, keeping limits that
  never bind on the run's clock (``VirtualLimits``) against none — per call (reply).

Prints JSON.

    python bench/limiter.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from _timing import emit, full_budget, time_run

from llmteams_lab import Run, team
from llmteams_lab.backends.limits import Limiter
from llmteams_lab.spec import EndpointSpec, RateLimitSpec

NEVER = RateLimitSpec(concurrent=10_000, rpm=1e9, tpm=1e12)  # every limit set, none ever holds a call


async def _calls(n: int, limiter: Limiter | None) -> float:
    async def call() -> None:
        await asyncio.sleep(0)  # a call that yields once, like any awaited reply

    started = time.process_time()
    for _ in range(n):
        if limiter is None:
            await call()
            continue
        await limiter.admit(500)
        try:
            await call()
        finally:
            limiter.release()
    return time.process_time() - started


def asyncio_overhead(n: int, repeats: int) -> dict:
    plain, limited = [], []
    for _ in range(repeats):
        plain.append(asyncio.run(_calls(n, None)))
        limited.append(asyncio.run(_calls(n, Limiter(NEVER))))
    base, with_limits = min(plain) / n * 1e6, min(limited) / n * 1e6
    return {"measure": "asyncio", "calls": n, "us_per_call_without": round(base, 2),
            "us_per_call_with_limiter": round(with_limits, 2), "overhead_us_per_call": round(with_limits - base, 2)}


def openai_overhead(agents: int, rounds: int, repeats: int) -> dict:
    from llmteams_lab.serve import Background, Server
    from llmteams_lab.spec import AgentSpec

    async def round_cpu(spec) -> float:
        async with Run(spec) as run:
            await run.step()  # warm-up: the client, connections
            started = time.process_time()
            for _ in range(rounds):
                await run.step()
            return time.process_time() - started

    server = Server(AgentSpec("sim", latency_s=0.002, latency_jitter=0.0))
    with Background(server) as url:
        base = team(agents, backend="openai", max_rounds=rounds + 1, seed=1, endpoint={"base_url": url})
        base = full_budget(base).replace(concurrency=agents)
        limited = base.replace(endpoint=base.endpoint.replace(limits=NEVER))
        plain_cpu, limited_cpu = [], []
        for _ in range(repeats):
            plain_cpu.append(asyncio.run(round_cpu(base)))
            limited_cpu.append(asyncio.run(round_cpu(limited)))
    calls = agents * rounds
    per, per_limited = min(plain_cpu) / calls * 1e6, min(limited_cpu) / calls * 1e6
    return {"measure": "openai", "agents": agents, "rounds_timed": rounds,
            "cpu_us_per_call_without": round(per, 1), "cpu_us_per_call_with_limiter": round(per_limited, 1),
            "overhead_us_per_call": round(per_limited - per, 1),
            "noise_us_per_call": round((max(plain_cpu) - min(plain_cpu)) / calls * 1e6, 1)}


def simulated_overhead(n: int, rounds: int, repeats: int) -> dict:
    spec = full_budget(team(n, topology="complete", max_rounds=100_000, seed=1))
    limited = spec.replace(endpoint=EndpointSpec(limits=NEVER))
    plain, held = [], []
    for _ in range(repeats):
        plain.append(time_run(spec, None, rounds, 1)["cpu_seconds"])
        held.append(time_run(limited, None, rounds, 1)["cpu_seconds"])
    calls = n * rounds
    return {"measure": "simulated", "agents": n, "rounds_timed": rounds,
            "cpu_ms_per_round_without": round(min(plain) / rounds * 1e3, 3),
            "cpu_ms_per_round_with_limits": round(min(held) / rounds * 1e3, 3),
            "overhead_us_per_call": round((min(held) - min(plain)) / calls * 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer calls and repeats (smoke run)")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    rows = [asyncio_overhead(2_000 if args.quick else 20_000, repeats),
            openai_overhead(32, 2 if args.quick else 5, repeats),
            simulated_overhead(64, 3 if args.quick else 20, repeats),
            {"target_us_per_call": 50, "load_average": [round(x, 2) for x in os.getloadavg()],
             "date": time.strftime("%Y-%m-%d", time.gmtime())}]
    emit("limiter", rows)


if __name__ == "__main__":
    main()
