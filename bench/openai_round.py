"""One round of K LLM agents through the real ``openai`` client against ``serve`` (issue 4).

``llmteams-lab serve`` runs as a subprocess (its own process, as a real endpoint would
be) with a fixed 200 ms latency. For K = 16/64/256 agents (majority vote, one round,
concurrency = K) each repeat builds a fresh run and backend, opens K keep-alive
connections (``OpenAIBackend.warm``), then times ``await run.step()``:

* ``ratio``            round wall ÷ model latency (best of the repeats; 1.0 is ideal);
* ``cpu_ms_per_call``  client process CPU during the round ÷ K (SDK + HTTP + engine);
* ``engine_ms_per_agent`` the same round with a zero-latency ``MockBackend``: the
  engine's share of that CPU;
* ``cold_ratio``       the first round without pre-warmed connections.

With ``--gc-freeze`` the script calls ``gc.freeze()`` once after its imports (as a long-running
service would): CPython's full collections then skip the ~10⁵ objects of the imported SDK, which
otherwise cost 60–80 ms each and land in about one large round in five. The library never does
this itself — it is a process-wide choice for the application.

Star topology by default (K−1 messages after the round), so the round measures the
calls, not the message fan-out; ``--topology complete`` shows the fan-out's cost
(K·(K−1) message events). Targets: ratio ≤ 1.3 at K = 64 and ≤ 2.0 at K = 256.

    python bench/openai_round.py [--quick] [--gc-freeze] [--topology star|complete] [--transport aiohttp|httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import statistics
import subprocess
import sys
import time

from _timing import emit

import openai  # noqa: F401  (imported up front: the cold round measures connections, not imports)

from llmteams_lab import Run, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.backends.openai import OpenAIBackend

LATENCY = 0.2
TARGETS = {64: 1.3, 256: 2.0}


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_serve() -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "llmteams_lab.cli", "serve", "--port", "0", "--latency", str(LATENCY),
           "--jitter", "0", "--competence", "0.7", "--seed", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline() if proc.stdout else ""
    if " on http" not in line:
        proc.kill()
        raise RuntimeError(f"serve did not start: {line!r}")
    return proc, line.rsplit(" on ", 1)[1].strip()


def spec_for(k: int, url: str, topology: str, transport: str):
    return team(k, topology=topology, protocol="majority", backend="openai", seed=7, competence=0.7).replace(
        concurrency=k, endpoint={"base_url": url, "timeout_s": 60.0, "max_tokens": 256, "transport": transport})


async def one_round(spec, warm: bool) -> tuple[float, float]:
    backend = OpenAIBackend(spec)
    async with Run(spec, backends=backend) as run:
        if warm:
            await backend.warm()
        c0, t0 = cpu_s(), time.perf_counter()
        await run.step()
        wall, cpu = time.perf_counter() - t0, cpu_s() - c0
        failed = sum(1 for e in run.events if e.kind == "AgentFailed")
    if failed:
        raise RuntimeError(f"{failed} agent(s) failed during the benchmark round")
    return wall, cpu


async def engine_round(spec) -> float:
    mock_spec = spec.replace(agents=tuple(a.replace(backend="mock") for a in spec.agents))
    async with Run(mock_spec, backends=MockBackend(keep_calls=False)) as run:
        c0 = cpu_s()
        await run.step()
        return cpu_s() - c0


def measure(k: int, url: str, topology: str, transport: str, repeats: int, frozen: bool) -> dict:
    spec = spec_for(k, url, topology, transport)
    cold_wall, _ = asyncio.run(one_round(spec, warm=False))
    rounds = [asyncio.run(one_round(spec, warm=True)) for _ in range(repeats)]
    best = min(rounds)
    engine = min(asyncio.run(engine_round(spec)) for _ in range(3))
    row = {"agents": k, "topology": topology, "transport": transport, "gc_frozen": frozen, "latency_s": LATENCY,
           "round_wall_s": round(best[0], 4), "ratio": round(best[0] / LATENCY, 3),
           "median_ratio": round(statistics.median(w for w, _ in rounds) / LATENCY, 3),
           "cpu_ms_per_call": round(best[1] / k * 1e3, 3),
           "engine_ms_per_agent": round(engine / k * 1e3, 4),
           "cold_ratio": round(cold_wall / LATENCY, 3), "repeats": repeats}
    if k in TARGETS:
        row["target"] = {"ratio": TARGETS[k], "met": row["ratio"] <= TARGETS[k]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--topology", default="star", choices=("star", "complete"))
    parser.add_argument("--transport", default="aiohttp", choices=("aiohttp", "httpx"))
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after the imports (see above)")
    args = parser.parse_args()
    if args.gc_freeze:
        gc.collect()
        gc.freeze()
    proc, url = start_serve()
    try:
        rows = [measure(k, url, args.topology, args.transport, 2 if args.quick else 9, args.gc_freeze)
                for k in (16, 64, 256)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    emit("openai_round", rows)


if __name__ == "__main__":
    main()
