"""Gossip at scale (issue 12, target: a 1,024-agent push gossip run in <= 1 s on one core).

Push gossip, fanout 1, on a complete graph of simulated agents in synchronous rounds
(the classical model), run to the end (every agent informed). CPU seconds of this
process, best of ``--repeats``, split into the phases a user pays for:

  spec     building and validating the TeamSpec (``gossip_team``)
  build    ``Run(spec)``: the engine's network (the topology's n(n-1) arcs), the log,
           the workload and the backend (``build_of_which_topology_arcs``: the arcs alone,
           as the engine makes them — ``runtime.network.team_arcs``, numpy arrays)
  steps    every round until the run ends

and, for the steps, where the time goes (cProfile, by module; profiling inflates the
totals, so only the shares are reported). ``us_per_message`` relates the steps to the
messages sent; the engine's own per-message cost is measured in the same process on its
fastest path — one all-to-all debate round of 256 simulated agents (65,280 messages,
no faults, nothing routed) — so the two can be compared.

Also: messages to reach everyone by gossip against one all-to-all round, n(n-1), at
several team sizes (gossip: mean over seeds; all-to-all: measured on a debate round up
to 256 agents, n(n-1) beyond).

    python bench/gossip_scale.py [--n 1024] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import math
import pstats
import statistics
import time
from collections import defaultdict

from _timing import emit

from llmteams_lab import Run, team
from llmteams_lab.metrics import events_frame, gossip_summary, overhead
from llmteams_lab.runtime.network import team_arcs
from llmteams_lab.spec import gossip_team


def timed_run(n: int, seed: int) -> dict:
    """One run, phase by phase (CPU seconds of this process)."""
    t0 = time.process_time()
    spec = gossip_team(n, seed=seed)
    t1 = time.process_time()
    run = Run(spec)
    t2 = time.process_time()

    async def steps() -> None:
        async with run:
            await run.run()

    asyncio.run(steps())
    t3 = time.process_time()
    team_arcs(spec)  # what the build spends on the topology alone: the n(n-1) arcs, as the engine makes them
    t4 = time.process_time()
    summary = gossip_summary(events_frame(list(run.events))).row(0, named=True)
    return {"spec": t1 - t0, "build": t2 - t1, "steps": t3 - t2, "total": t3 - t0, "arcs": t4 - t3,
            "rounds": summary["rounds_to_all"],
            "messages": summary["messages"], "events": len(run.events), "end": run.end_reason}


def where_steps_go(n: int) -> dict[str, float]:
    """Share of the stepping time per module (cProfile's own time, grouped)."""
    run = Run(gossip_team(n, seed=0))

    async def steps() -> None:
        async with run:
            await run.run()

    profile = cProfile.Profile()
    profile.runcall(asyncio.run, steps())
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    by: dict[str, float] = defaultdict(float)
    for (path, _, _), (_, _, tottime, _, _) in stats.items():
        key = "other (asyncio, numpy, builtins)"
        if "llmteams_lab" in path:
            key = path.split("llmteams_lab/")[-1].rsplit("/", 1)[0] if "/workloads/" in path else \
                path.split("llmteams_lab/")[-1]
        by[key] += tottime
    total = sum(by.values())
    top = sorted(by.items(), key=lambda kv: -kv[1])[:8]
    return {k: round(v / total, 3) for k, v in top}


def engine_message_cost() -> float:
    """µs per message of one all-to-all debate round of 256 simulated agents (the
    engine's direct, unrouted path), best of 3."""
    best = math.inf
    for _ in range(3):
        run = Run(team(256, protocol="debate", max_rounds=1))

        async def one() -> None:
            async with run:
                started = time.process_time()
                await run.step()
                nonlocal best
                best = min(best, (time.process_time() - started) / (256 * 255) * 1e6)

        asyncio.run(one())
    return best


def messages_table(sizes: list[int], seeds: int) -> list[dict]:
    rows = []
    for n in sizes:
        gossip = [gossip_summary(events_frame(list(_events(gossip_team(n, seed=s))))).row(0, named=True)
                  for s in range(seeds)]
        measured = n <= 256
        all_to_all = int(overhead(events_frame(list(_events(team(n, protocol="debate", max_rounds=1)))))
                         ["messages"][0]) if measured else n * (n - 1)
        sent = statistics.mean(g["messages_to_all"] for g in gossip)
        rows.append({"n": n, "gossip_messages_to_all": round(sent, 1),
                     "gossip_rounds_to_all": statistics.mean(g["rounds_to_all"] for g in gossip),
                     "theory_rounds_log2n_plus_lnn": round(math.log2(n) + math.log(n), 2),
                     "gossip_messages_per_n_ln_n": round(sent / (n * math.log(n)), 3),
                     "all_to_all_messages_per_round": all_to_all, "all_to_all_measured": measured,
                     "all_to_all_round_over_gossip_run": round(all_to_all / sent, 1)})
    return rows


def _events(spec):
    async def go():
        async with Run(spec) as run:
            await run.run()
            return list(run.events)

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    runs = [timed_run(args.n, seed) for seed in range(args.repeats)]
    best = min(runs, key=lambda r: r["total"])
    per_message = best["steps"] / best["messages"] * 1e6
    emit("gossip_scale", [{
        "n": args.n, "mode": "push", "fanout": 1, "topology": "complete", "execution": "synchronous",
        "best_of": args.repeats, "cpu_seconds": {k: round(best[k], 3) for k in ("spec", "build", "steps", "total")},
        "median_total_cpu_seconds": round(statistics.median(r["total"] for r in runs), 3),
        "build_of_which_topology_arcs": round(best["arcs"], 3),
        "target": {"total_cpu_seconds": 1.0, "met": best["total"] <= 1.0},
        "rounds": best["rounds"], "messages": best["messages"], "events": best["events"], "end": best["end"],
        "us_per_message_in_steps": round(per_message, 2),
        "engine_us_per_message_all_to_all_256": round(engine_message_cost(), 2),
        "steps_time_by_module": where_steps_go(args.n),
        "messages_vs_all_to_all": messages_table([64, 256, args.n], seeds=5),
    }])


if __name__ == "__main__":
    main()
