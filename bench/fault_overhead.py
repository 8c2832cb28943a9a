"""What fault injection costs per round (issue 3): the injector on a 64-agent debate.

A complete 64-agent team (4,032 messages per round) with per-message logging, answered
by the batched simulated backend, runs its full round budget under one fault setting
per row. ``overhead`` is the row's ms per round divided by the fault-free row's:

* none                    no faults: the engine's untouched fast path (the baseline)
* policy retry            a retry policy and no faults: backends wrapped, nothing fails
* crash 8 agents          the alive mask only (fewer agents act, so cheaper)
* byzantine 8 agents      replies overridden after the backend answered
* straggler 8 agents      latencies stretched
* timeout p=0.1 + retry   injected backend failures, retried with backoff
* drop p=0 (untouched)    a message fault in its window that touches no message: the
                          round stays on the network's fast path (no router)
* drop p=0.1              10 % of messages lost (MessageDropped rows)
* partition 32/32         half of all messages dropped
* delay 1 round p=0.1     10 % of messages held back a round

    python bench/fault_overhead.py [--quick]
"""

from __future__ import annotations

import argparse

from _timing import emit, full_budget, time_run

from llmteams_lab import team
from llmteams_lab.spec import FaultSpec

N = 64
EIGHT = tuple(f"a{i}" for i in range(8))
SETTINGS = {
    "none": ([], {}),
    "policy retry": ([], {"on_error": "retry", "retries": 2, "backoff_s": 0.5}),
    "crash 8 agents": ([FaultSpec(kind="crash", group=EIGHT)], {}),
    "byzantine 8 agents": ([FaultSpec(kind="byzantine", group=EIGHT)], {}),
    "straggler 8 agents": ([FaultSpec(kind="straggler", group=EIGHT, factor=3.0)], {}),
    "timeout p=0.1 + retry": ([FaultSpec(kind="timeout", probability=0.1)],
                              {"on_error": "retry", "retries": 2, "backoff_s": 0.5}),
    "drop p=0 (untouched)": ([FaultSpec(kind="drop", probability=0.0)], {}),
    "drop p=0.1": ([FaultSpec(kind="drop", probability=0.1)], {}),
    "partition 32/32": ([FaultSpec(kind="partition", groups=(tuple(f"a{i}" for i in range(32)),))], {}),
    "delay 1 round p=0.1": ([FaultSpec(kind="delay", rounds=1, probability=0.1)], {}),
}


def measure(name: str, rounds: int, repeats: int) -> dict:
    faults, policy = SETTINGS[name]
    spec = full_budget(team(N, topology="complete", protocol="debate", max_rounds=10_000, seed=1))
    spec = spec.replace(faults=faults, failure_policy=policy)
    timing = time_run(spec, None, rounds, repeats)
    return {"setting": name, "n": N, "messages_per_round": N * (N - 1), "rounds_timed": rounds,
            "ms_per_round": round(timing["seconds"] / rounds * 1e3, 3),
            "events_per_round": round(timing["events"] / (rounds + 1), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and repeats (smoke run)")
    args = parser.parse_args()
    rounds, repeats = (3, 2) if args.quick else (20, 5)
    rows = [measure(name, rounds, repeats) for name in SETTINGS]
    base = rows[0]["ms_per_round"]
    for row in rows:
        row["overhead"] = round(row["ms_per_round"] / base, 2)
    emit("fault_overhead", rows)


if __name__ == "__main__":
    main()
