"""Engine overhead per agent-step with a zero-latency backend (issue 2, benchmark a).

Teams of 8/64/256 on complete and star graphs. Each row is timed twice: as CPython normally runs (``ms_per_round``) and with the
cyclic garbage collector paused during the timed rounds (``ms_per_round_gc_paused``),
which separates the engine's own work from the collector's. The per-agent path uses
``MockBackend(keep_calls=False)`` (one ``respond`` call per agent, real inboxes, one
event per message); the aggregated path (``logging="rounds"``) needs a batched
backend, so it uses a constant, zero-latency batched backend. Debate runs its full
round budget. Prints JSON: ms per round and ms per agent-step (= per round / n).

    python bench/engine_overhead.py [--quick]
"""

from __future__ import annotations

import argparse

from _timing import ConstantBatchBackend, emit, full_budget, time_run

from llmteams_lab import team
from llmteams_lab.backends import MockBackend

TARGETS = {("star", 64, "messages"): ("ms_per_agent_step", 0.05), ("complete", 64, "messages"): ("ms_per_round", 5.0)}


def measure(n: int, topology: str, logging: str, quick: bool) -> dict:
    spec = full_budget(team(n, topology=topology, protocol="debate", backend="mock", logging=logging,
                            max_rounds=10_000))
    if logging == "messages":
        backends = lambda: MockBackend(keep_calls=False)  # noqa: E731
    else:
        backends = ConstantBatchBackend
    messages = n * (n - 1) if topology == "complete" else 2 * (n - 1)
    rounds = max(5, min(400, 200_000 // (messages + n)))
    if quick:
        rounds = max(2, rounds // 10)
    repeats = 2 if quick else 5
    timing = time_run(spec, backends, rounds, repeats)
    without_gc = time_run(spec, backends, rounds, repeats, pause_gc=True)
    per_round = timing["seconds"] / rounds * 1e3
    row = {"n": n, "topology": topology, "logging": logging,
           "backend": "MockBackend (per agent)" if logging == "messages" else "constant batched",
           "messages_per_round": messages, "rounds_timed": rounds,
           "ms_per_round": round(per_round, 4), "ms_per_agent_step": round(per_round / n, 5),
           "cpu_ms_per_round": round(timing["cpu_seconds"] / rounds * 1e3, 4),
           "us_per_message": round(per_round * 1e3 / messages, 3),
           "ms_per_round_gc_paused": round(without_gc["seconds"] / rounds * 1e3, 4)}
    target = TARGETS.get((topology, n, logging))
    if target:
        row["target"] = {target[0]: target[1], "met": row[target[0]] <= target[1]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and repeats (smoke run)")
    args = parser.parse_args()
    rows = [measure(n, topology, logging, args.quick)
            for logging in ("messages", "rounds") for topology in ("star", "complete") for n in (8, 64, 256)]
    emit("engine_overhead", rows)


if __name__ == "__main__":
    main()
