"""Simulated deliberation throughput in agent-steps per second (issue 2, benchmark b).

Simulated agents (the vectorised numpy backend) debate on a complete graph at
n = 10/100/1000 for their full round budget (``stop_at_consensus = False``), with
per-message event logging and with aggregated logging (``logging = "rounds"``), each
with CPython's collector as it normally runs and with the library's opt-in pause of it
around each round (``Run(pause_gc=True)``).
An agent-step is one agent answering in one round. Prints JSON.

    python bench/deliberation_throughput.py [--quick]
"""

from __future__ import annotations

import argparse

from _timing import emit, full_budget, time_run

from llmteams_lab import team

TARGET = ("rounds", 1000, 5_000_000)


def measure(n: int, logging: str, quick: bool) -> dict:
    spec = full_budget(team(n, topology="complete", protocol="debate", logging=logging, max_rounds=100_000,
                            competence=0.4, conformity=0.3, seed=1))
    work = n if logging == "rounds" else n * n  # per-message logging costs ~n² events per round
    rounds = max(2, min(2000, 400_000 // work))
    if quick:
        rounds = max(2, rounds // 10)
    timing = time_run(spec, None, rounds, repeats=2 if quick else 5)
    paused = time_run(spec, None, rounds, repeats=2 if quick else 5, pause_gc=True)
    steps_per_s = n * rounds / timing["seconds"]
    row = {"n": n, "topology": "complete", "logging": logging, "rounds_timed": rounds,
           "ms_per_round": round(timing["seconds"] / rounds * 1e3, 4),
           "cpu_ms_per_round": round(timing["cpu_seconds"] / rounds * 1e3, 4),
           "agent_steps_per_s": round(steps_per_s),
           "agent_steps_per_s_gc_paused": round(n * rounds / paused["seconds"]),
           "events_per_round": timing["events"] // (rounds + 1)}
    if (logging, n) == TARGET[:2]:
        row["target"] = {"agent_steps_per_s": TARGET[2], "met": steps_per_s >= TARGET[2]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and repeats (smoke run)")
    args = parser.parse_args()
    rows = [measure(n, logging, args.quick) for logging in ("rounds", "messages") for n in (10, 100, 1000)]
    emit("deliberation_throughput", rows)


if __name__ == "__main__":
    main()
