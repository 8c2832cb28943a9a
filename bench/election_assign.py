"""An elected leader dividing work, with and without a leader crash (issue 12, item 1).

Five simulated agents (asynchronous model, default election timing: T = 10 s drawn in
[T, 2T], heartbeats every 3 s, ~1 s turns) divide a generated project of 12 unit tasks
(parallel fraction 0.75) with ``duty="assign"``, 10 % of messages dropped. Per seed, the
same team runs undisturbed and with its first leader crashed once a third of the tasks
are completed (live injection). Beside it, the peer: the same DAG divided by a *fixed*
lead on the work-division board (``work_team(assignment="lead_assigned")``, same agents,
same model) — no election, no replicated log, and no survival of its lead's crash.

Reported: runs that finished, every run's safety (election safety, leader completeness,
committed entries unchanged, every task done once by a committed assignment), median
makespans and their ratios — the price of agreeing on every assignment, and of a crash.

    python bench/election_assign.py [--runs 50] [--loss 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from _timing import emit

from llmteams_lab import Run, run_sync
from llmteams_lab.metrics import check_run, events_frame, work_summary
from llmteams_lab.spec import election_team, work_team

SAFETY = ("committed_unchanged", "election_safety", "leader_completeness", "tasks_done_once")
PROJECT = {"parallel_fraction": 0.75, "size": 12}


async def one_run(seed: int, loss: float, crash: bool) -> dict:
    spec = election_team(5, seed=seed, duty="assign", work=PROJECT, max_rounds=1_000).replace(
        faults=[{"kind": "drop", "probability": loss}])
    async with Run(spec) as run:
        seen, done, first_leader_s, crashed = 0, 0, None, False
        while not run.done:
            await run.step()
            for e in run.events[seen:]:
                done += e.kind == "TaskCompleted"
                if e.kind == "LeaderElected" and first_leader_s is None:
                    first_leader_s = e.t_end
                if crash and not crashed and done >= PROJECT["size"] // 3:
                    leader = [x for x in run.events if x.kind == "LeaderElected"][-1].agent
                    run.inject({"kind": "crash", "agent": leader})
                    crashed = True
            seen = len(run.events)
        frame = events_frame(list(run.events))
    verdicts = check_run(frame, properties=SAFETY)
    row = work_summary(frame).row(0, named=True)
    return {"finished": row["finished"], "makespan_s": row["makespan_s"], "first_leader_s": first_leader_s,
            "safe": bool(verdicts["ok"].all()), "reassigned": frame.filter(frame["kind"] == "TaskReassigned").height}


def fixed_lead(seed: int, loss: float) -> float:
    spec = work_team(5, assignment="lead_assigned", p=PROJECT["parallel_fraction"], size=PROJECT["size"], seed=seed,
                     execution="asynchronous").replace(faults=[{"kind": "drop", "probability": loss}])
    return work_summary(run_sync(spec).events)["makespan_s"][0]


def _median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r["finished"] and r[key] is not None]
    return round(statistics.median(values), 2) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--loss", type=float, default=0.1)
    args = parser.parse_args()
    started, cpu = time.perf_counter(), time.process_time()
    calm = [asyncio.run(one_run(seed, args.loss, False)) for seed in range(args.runs)]
    crashed = [asyncio.run(one_run(seed, args.loss, True)) for seed in range(args.runs)]
    peer = statistics.median(fixed_lead(seed, args.loss) for seed in range(args.runs))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    for rows in (calm, crashed):
        for r in rows:
            r["after_first_leader_s"] = r["makespan_s"] - r["first_leader_s"] if r["first_leader_s"] else None
    calm_s, crash_s = _median(calm, "makespan_s"), _median(crashed, "makespan_s")
    emit("election_assign", [{
        "agents": 5, "tasks": PROJECT["size"], "parallel_fraction": PROJECT["parallel_fraction"],
        "message_loss": args.loss, "runs": args.runs,
        "finished": {"no_crash": sum(r["finished"] for r in calm), "leader_crash": sum(r["finished"] for r in crashed)},
        "runs_unsafe": sum(not r["safe"] for r in calm + crashed),
        "median_makespan_s": {"fixed_lead_board": round(peer, 2), "elected_leader": calm_s,
                              "elected_leader_after_first_election": _median(calm, "after_first_leader_s"),
                              "elected_leader_with_crash": crash_s},
        "ratios": {"elected_vs_fixed_lead": round(calm_s / peer, 2) if calm_s else None,
                   "after_first_election_vs_fixed_lead": round(_median(calm, "after_first_leader_s") / peer, 2),
                   "crash_vs_no_crash": round(crash_s / calm_s, 2) if calm_s and crash_s else None},
        "reassigned_tasks_after_crash": sum(r["reassigned"] for r in crashed),
        "seconds": round(elapsed, 2), "cpu_seconds": round(cpu, 2),
    }])


if __name__ == "__main__":
    main()
