"""Leader failover under message loss (issue 12, target: election).

Five simulated agents run Raft-style elections (``election`` workload, asynchronous
model, default timing: election timeout T = 10 s drawn in [T, 2T], heartbeats every 3 s,
agents answering in ~1 s) while the network drops 10 % of all messages. Each of 100
seeded runs is stepped until the first leader is elected; that leader is then crashed
(live injection, acting from the next reporting slice) and the run goes on until a
leader of a later term is elected, or 20 election timeouts have passed. We measure the
failover time in election timeouts (seconds after the crash / T) and check every run's
safety (two leaders in one term: ``election_safety``; ``leader_completeness``,
``committed_unchanged``). Target: a new leader within 10 timeouts in >= 95 % of the
runs, never two leaders in one term.

    python bench/election_failover.py [--runs 100] [--loss 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from _timing import emit

from llmteams_lab import Run
from llmteams_lab.metrics import check_run, events_frame
from llmteams_lab.spec import election_team

SAFETY = ("committed_unchanged", "election_safety", "leader_completeness")


async def failover(seed: int, loss: float, horizon: float) -> dict:
    """One run: crash the first leader, time the next one (in timeouts)."""
    spec = election_team(5, seed=seed, decisions=2, max_rounds=10_000).replace(
        faults=[{"kind": "drop", "probability": loss}])
    timeout = spec.task.election.election_timeout_s
    async with Run(spec) as run:
        seen, first, crashed_at, took = 0, None, None, None
        while not run.done:
            await run.step()
            fresh = run.events[seen:]
            seen += len(fresh)
            for e in fresh:
                if e.kind == "LeaderElected" and first is None:
                    first = e
                    run.inject({"kind": "crash", "agent": e.agent})
                elif e.kind == "FaultApplied" and e.fault == "crash" and crashed_at is None:
                    crashed_at = e.t_start
                elif e.kind == "LeaderElected" and first is not None and int(e.value) > int(first.value):
                    took = took if took is not None else e.t_end - crashed_at
            if took is not None or (crashed_at is not None and run.clock - crashed_at > horizon * timeout):
                break
        verdicts = check_run(events_frame(list(run.events)), properties=SAFETY)
    return {"seed": seed, "first_leader_s": first.t_end if first else None,
            "timeouts": None if took is None else took / timeout,
            "safe": bool(verdicts["ok"].all()), "two_leaders": not verdicts.filter(
                verdicts["check"] == "election_safety")["ok"][0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--loss", type=float, default=0.1)
    parser.add_argument("--within", type=float, default=10.0, help="election timeouts allowed")
    args = parser.parse_args()
    started, cpu = time.perf_counter(), time.process_time()
    rows = [asyncio.run(failover(seed, args.loss, 2 * args.within)) for seed in range(args.runs)]
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    times = sorted(r["timeouts"] for r in rows if r["timeouts"] is not None)
    within = sum(1 for t in times if t <= args.within)
    emit("election_failover", [{
        "agents": 5, "message_loss": args.loss, "runs": args.runs,
        "new_leader_within_timeouts": args.within, "runs_within": within, "share_within": within / args.runs,
        "target": {"share_within": 0.95, "met": within / args.runs >= 0.95},
        "failover_timeouts": {"median": statistics.median(times) if times else None,
                              "p95": times[int(0.95 * (len(times) - 1))] if times else None,
                              "max": times[-1] if times else None},
        "runs_with_two_leaders_in_a_term": sum(r["two_leaders"] for r in rows),
        "runs_unsafe": sum(not r["safe"] for r in rows),
        "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2),
    }])


if __name__ == "__main__":
    main()
