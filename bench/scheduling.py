"""Scheduling a 1,000-task DAG for 50 agents with each policy (issue 16; target ≤ 0.1 s
on one core).

The DAG is ``random_dag(1000)`` (each task depends on up to two of the 20 before it,
1 to 3 units of work); the 50 agents have unit times from 0.5 to 2 s (a heterogeneous
team, so speed_aware differs from critical_path). Two costs per policy, best of
``--repeats`` (process CPU time, a single-threaded computation on one core):

* ``plan_s`` — the static list schedule a pre- or lead-assigned team gets when its run
  starts (``scheduling.plan``; list policies only): the figure the target is about;
* ``simulate_s`` — the whole run in the simulated workers' turn model
  (``scheduling.simulate``): every turn of every agent, for every policy, self-claim
  priorities and work stealing included — what ``compare_policies`` costs per design.

Also printed: each design's makespan against the critical-path and work bounds. Prints JSON.

    python bench/scheduling.py [--tasks 1000] [--agents 50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

from _timing import emit

from llmteams_lab.workloads.workdivision.dag import random_dag
from llmteams_lab.workloads.workdivision.scheduling import LIST_POLICIES, lower_bound, plan, simulate

DESIGNS = ([("pre_assigned", p) for p in ("chain",) + LIST_POLICIES]
           + [("self_claim", p) for p in ("critical_path", "longest_first", "random", "shortest_first")])


def best(repeats: int, work) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        started = time.process_time()
        out = work()
        times.append(time.process_time() - started)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tasks = random_dag(args.tasks, seed=1)
    agents = [f"a{i}" for i in range(args.agents)]
    unit = [0.5 + 1.5 * i / max(1, args.agents - 1) for i in range(args.agents)]
    cp, wb = lower_bound(tasks, unit)
    rows = []
    for assignment, policy in DESIGNS:
        row = {"assignment": assignment, "policy": policy}
        if assignment == "pre_assigned" and policy in LIST_POLICIES:
            seconds, made = best(args.repeats, lambda p=policy: plan(tasks, agents, p, unit))
            row.update(plan_s=round(seconds, 4), planned_makespan=round(made.makespan, 3))
        seconds, sim = best(args.repeats, lambda a=assignment, p=policy: simulate(tasks, agents, assignment=a,
                                                                                  policy=p, unit_s=unit, seed=1))
        row.update(simulate_s=round(seconds, 4), makespan=round(sim.makespan, 3),
                   ratio_to_bound=round(sim.makespan / max(cp, wb), 3), turns=sim.turns)
        rows.append(row)
    emit("scheduling", [{"tasks": args.tasks, "agents": args.agents, "critical_path_bound": round(cp, 3),
                         "work_bound": round(wb, 3), "target_plan_s": 0.1,
                         "max_plan_s": max(r.get("plan_s", 0.0) for r in rows),
                         "load_average": [round(x, 2) for x in os.getloadavg()],
                         "date": time.strftime("%Y-%m-%d", time.gmtime())}, *rows])


if __name__ == "__main__":
    main()
