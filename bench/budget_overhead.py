"""What hard budgets cost per round (issue 13): the pre-round worst case previews each
agent's next inbox and asks every backend for its bound.

Debates run their full round budget on simulated agents: a complete 64-agent team with
per-message logging (4,032 messages a round) and a complete 1,000-agent team with
aggregated logging (``logging="rounds"``), each without budgets and with a token budget
large enough never to stop them (so every round pays the check). Also measured: the
pre-flight spec estimate (``spec.footprint``) for a 100,000-agent star. Prints JSON.

    python bench/budget_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import time

from _timing import emit, full_budget, time_run

from llmteams_lab import team
from llmteams_lab.spec import TeamSpec


def measure(n: int, logging: str, rounds: int, repeats: int) -> dict:
    spec = full_budget(team(n, topology="complete", logging=logging, max_rounds=100_000, seed=1))
    free = time_run(spec, None, rounds, repeats)
    budgeted = spec.replace(budgets=spec.budgets.replace(max_tokens=10**15, max_cost_usd=10**9))
    held = time_run(budgeted, None, rounds, repeats)
    return {"n": n, "logging": logging, "rounds_timed": rounds,
            "cpu_ms_per_round_no_budget": round(free["cpu_seconds"] / rounds * 1e3, 3),
            "cpu_ms_per_round_with_budgets": round(held["cpu_seconds"] / rounds * 1e3, 3),
            "overhead": round(held["cpu_seconds"] / free["cpu_seconds"], 3)}


def validation_ms() -> dict:
    started = time.process_time()
    TeamSpec.from_dict({"size": 100_000, "topology": {"kind": "star"}})
    return {"spec": "100,000-agent star (built from size + template, validated, footprint checked)",
            "cpu_ms": round((time.process_time() - started) * 1e3, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and repeats (smoke run)")
    args = parser.parse_args()
    rounds, repeats = (3, 2) if args.quick else (20, 5)
    rows = [measure(64, "messages", rounds, repeats), measure(1000, "rounds", rounds, repeats), validation_ms()]
    emit("budget_overhead", rows)


if __name__ == "__main__":
    main()
