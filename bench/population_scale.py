"""Population scale (issue 18): a 10-round debate of up to 1,000,000 simulated agents on a
small-world graph (k = 10, p = 0.3) with aggregated logging (``logging = "rounds"``).
Prints JSON.

Each size runs in a fresh Python process, so its peak RSS (``resource.getrusage``,
``ru_maxrss``: the process's high-water mark) is its own. Per size:

* ``spec_s``: building and validating the spec; ``run_s`` / ``run_cpu_s``: the whole
  run — network, backends, 10 rounds — wall clock and this process's CPU time (steadier
  on a shared machine); ``total_s``: spec + run;
* ``peak_rss_bytes`` and ``base_rss_bytes`` (after the imports, before the spec);
* ``estimate_bytes``: the pre-flight estimate (``spec.footprint.estimate``) that lets the
  spec validate — ``estimate_over_measured`` > 1 means it bounds what the run took above
  the imports (a bound must bound);
* ``target_time_ratio`` = total_s / 60 s and ``target_memory_ratio`` = peak RSS / 8 GiB:
  the issue's target is ≤ 1 for both at n = 1,000,000.

    python bench/population_scale.py [--sizes 10000 100000 1000000] [--k 10] [--p 0.3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TARGET_S = 60.0
TARGET_BYTES = 8 * 2**30


def measure(n: int, k: int, p: float, rounds: int) -> dict:
    """One size, in this process (call it in a fresh one)."""
    from llmteams_lab import run_sync
    from llmteams_lab.spec import TeamSpec
    from llmteams_lab.spec.footprint import estimate

    base = _rss()
    t0 = time.perf_counter()
    spec = TeamSpec.from_dict({
        "size": n, "seed": 1, "logging": "rounds",
        "agent": {"competence": 0.55, "conformity": 0.4},
        "topology": {"kind": "small_world", "k": k, "p": p},
        "protocol": {"kind": "debate", "stop_at_consensus": False},
        "budgets": {"max_rounds": rounds},
    })
    t1, c1 = time.perf_counter(), time.process_time()
    result = run_sync(spec)
    t2, c2 = time.perf_counter(), time.process_time()
    peak = _rss()
    assert result.rounds == rounds, result.rounds
    found = estimate(spec)
    return {
        "n": n, "k": k, "p": p, "rounds": result.rounds, "arcs": found.arcs, "events": len(result.records),
        "messages_per_round": found.arcs, "decision": result.decision, "correct": result.correct,
        "spec_s": round(t1 - t0, 3), "run_s": round(t2 - t1, 3), "run_cpu_s": round(c2 - c1, 3),
        "total_s": round(t2 - t0, 3),
        "base_rss_bytes": base, "peak_rss_bytes": peak,
        "estimate_bytes": found.total_bytes,
        "estimate_over_measured": round(found.total_bytes / max(peak - base, 1), 2),
        "target_time_ratio": round((t2 - t0) / TARGET_S, 3),
        "target_memory_ratio": round(peak / TARGET_BYTES, 3),
    }


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--p", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process's size
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.k, args.p, args.rounds)))
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--k", str(args.k), "--p", str(args.p),
                              "--rounds", str(args.rounds)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout))
        print(f"n = {n:,}: {rows[-1]['total_s']} s, peak RSS {rows[-1]['peak_rss_bytes'] / 2**30:.2f} GiB",
              file=sys.stderr)
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _timing import emit

    emit("population_scale", rows)


if __name__ == "__main__":
    main()
