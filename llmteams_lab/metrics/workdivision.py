"""Work-division metrics: pure polars functions over the events frame.

They read only the one event schema, so they give the same numbers on a simulated run,
a real-LLM run, a replay and the paper's imported runs. Per run (:func:`work_summary`):

* makespan      ``makespan_rounds`` (the round the run ended in) and ``makespan_s``
                (``RunEnded.t_end`` on the run's clock); ``finished`` when every task was
                done (``RunEnded`` reason ``all_tasks_done``)
* claims / blocked_claims / lock_denied / tasks_completed: counts of ``TaskClaimed``,
  ``ClaimBlocked``, ``LockDenied``, ``TaskCompleted``
* writes        ``FileWritten`` rows; ``concurrent_writes``: (round, file) cells written by
                two or more agents — the paper's definition, which counts cells, not writes
                (``get_concurrent_writes`` of its ``orchestrator/metrics.py``);
                ``contended_writes``: every write in such a cell (one cell of three writers
                is 1 concurrent write and 3 contended writes — what a clobbering board
                loses); ``rewrites``: writes to a file in a round after the round it was
                first written (the paper's definition)
* test_failures ``TestsRan`` with exit code 1–3 (the paper's definition); ``test_runs``
* replies       ``AgentReplied`` rows — the paper counts each reply as a message;
                ``peer_messages``: Σ count of ``MessageSent``
* idle_rounds   rounds with replies but no ``TaskCompleted`` (the paper's definition)
* tokens        Σ tokens in + out over the usage rows (replies, tallies and ``RunEnded``,
                which carries run totals when per-reply usage is unknown)

Across runs (:func:`speedups`): speedup = mean ``makespan_s`` of the finished n = 1 runs
of the same key ÷ the run's own ``makespan_s`` (finished runs); efficiency = speedup/n;
token multiplier = run tokens ÷ mean tokens of the finished n = 1 runs of the key; with
a ``p`` column, ``amdahl`` = Amdahl's law 1/((1 − p) + p/n) — a *reference model*, which
teams can beat (``workloads.workdivision.dag`` says why). A measured speedup has no
upper bound in general (its baseline may waste rounds, its durations vary), so none is
put beside it. :func:`straggler_gaps`: per round, max − mean reply latency
(``AgentReplied.t_end`` − the round's start) over rounds with ≥ 2 replies.

The bound (:func:`work_bounds`), for simulated workers (each agent puts at most one
unit of work into one task per round; a task starts only once its dependencies were
done when the round began): with W the run's total work and C the work on its longest
chain (as drawn for the run's spec: ``work_jitter``), and w the most agents that replied
in one round, the team needs ``min_rounds`` = max(C, ⌈W/w⌉) rounds, so its work speedup
W / makespan_rounds never exceeds ``work_span_bound`` = min(w, W/C) — the critical-path
bound. (A fork continuing a board made under other work draws is outside this premise.)
"""

from __future__ import annotations

from typing import Sequence

import polars as pl

from llmteams_lab.metrics.frame import count_of as _count
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads.workdivision.dag import (
    amdahl,
    critical_path,
    critical_path_bound,
)
from llmteams_lab.workloads.workdivision.workload import draw_work

__all__ = ["amdahl", "critical_path_bound", "idle_rounds", "run_specs", "speedups", "straggler_gaps",
           "work_bounds", "work_summary", "write_conflicts"]

_USAGE = ("AgentReplied", "AnswersTallied", "RunEnded")


def work_summary(events: pl.DataFrame) -> pl.DataFrame:
    """One row per run with every work-division measure (see the module docstring)."""
    ends = events.filter(pl.col("kind") == "RunEnded").group_by("run_id").agg(
        makespan_rounds=pl.col("round").last(), makespan_s=pl.col("t_end").last(),
        finished=(pl.col("detail").last() == "all_tasks_done"))
    counts = events.group_by("run_id").agg(
        n_agents=pl.col("agent").filter(pl.col("kind").is_in(("AgentReplied", "AgentFailed"))).n_unique(),
        claims=_count("TaskClaimed"), blocked_claims=_count("ClaimBlocked"), lock_denied=_count("LockDenied"),
        tasks_completed=_count("TaskCompleted"), writes=_count("FileWritten"), test_runs=_count("TestsRan"),
        test_failures=pl.col("count").filter((pl.col("kind") == "TestsRan")
                                             & pl.col("value").is_in(("1", "2", "3"))).sum(),
        replies=_count("AgentReplied"), peer_messages=_count("MessageSent"),
        tokens=(pl.col("tokens_in") + pl.col("tokens_out")).filter(pl.col("kind").is_in(_USAGE)).sum(),
    )
    out = counts.join(ends, on="run_id", how="left").join(write_conflicts(events), on="run_id", how="left")
    out = out.join(idle_rounds(events), on="run_id", how="left")
    fill = ["concurrent_writes", "contended_writes", "rewrites", "idle_rounds"]
    return out.with_columns(pl.col(fill).fill_null(0)).sort("run_id").select(
        "run_id", "n_agents", "finished", "makespan_rounds", "makespan_s", "tasks_completed", "claims",
        "blocked_claims", "lock_denied", "writes", "concurrent_writes", "contended_writes", "rewrites", "test_runs",
        "test_failures",
        "replies", "peer_messages", "idle_rounds", "tokens")


def write_conflicts(events: pl.DataFrame) -> pl.DataFrame:
    """Per run: concurrent writes ((round, file) cells written by ≥ 2 agents: the paper's
    count), contended writes (the writes in those cells) and rewrites (writes after the
    round a file was first written)."""
    writes = events.filter(pl.col("kind") == "FileWritten").select("run_id", "round", "agent", "value")
    if writes.is_empty():
        return pl.DataFrame(schema={"run_id": pl.String, "concurrent_writes": pl.Int64, "contended_writes": pl.Int64,
                                    "rewrites": pl.Int64})
    marked = writes.with_columns(
        shared=pl.col("agent").n_unique().over("run_id", "round", "value") > 1,
        later=pl.col("round") > pl.col("round").min().over("run_id", "value"))
    cells = marked.filter(pl.col("shared")).group_by("run_id").agg(
        concurrent_writes=pl.struct("round", "value").n_unique().cast(pl.Int64))
    per_write = marked.group_by("run_id").agg(contended_writes=pl.col("shared").sum().cast(pl.Int64),
                                              rewrites=pl.col("later").sum().cast(pl.Int64))
    return per_write.join(cells, on="run_id", how="left").with_columns(pl.col("concurrent_writes").fill_null(0)) \
        .select("run_id", "concurrent_writes", "contended_writes", "rewrites")


def idle_rounds(events: pl.DataFrame) -> pl.DataFrame:
    """Per run: rounds in which agents replied but no task was completed."""
    per = events.filter(pl.col("kind").is_in(("AgentReplied", "TaskCompleted"))).group_by("run_id", "round").agg(
        replied=(pl.col("kind") == "AgentReplied").any(), completed=(pl.col("kind") == "TaskCompleted").any())
    return per.group_by("run_id").agg(
        idle_rounds=(pl.col("replied") & ~pl.col("completed")).sum().cast(pl.Int64))


def straggler_gaps(events: pl.DataFrame, *, max_latency_s: float | None = None) -> pl.DataFrame:
    """Per (run_id, round) with ≥ 2 replies: replies, max and mean latency, gap = max − mean.

    Latency is a reply's ``t_end`` minus its round's start; with ``max_latency_s`` only
    latencies in (0, max_latency_s) count (the paper uses 180 s).
    """
    starts = events.filter(pl.col("kind") == "RoundStarted").select("run_id", "round", start=pl.col("t_start"))
    replies = events.filter(pl.col("kind") == "AgentReplied").select("run_id", "round", "t_end")
    lat = replies.join(starts, on=["run_id", "round"]).select(
        "run_id", "round", latency=pl.col("t_end") - pl.col("start"))
    if max_latency_s is not None:
        lat = lat.filter((pl.col("latency") > 0) & (pl.col("latency") < max_latency_s))
    per = lat.group_by("run_id", "round").agg(
        replies=pl.len().cast(pl.Int64), max_latency=pl.col("latency").max(), mean_latency=pl.col("latency").mean())
    return per.filter(pl.col("replies") >= 2).with_columns(
        gap_s=pl.col("max_latency") - pl.col("mean_latency")).sort("run_id", "round")


def speedups(runs: pl.DataFrame, by: Sequence[str] = (), *, n: str = "n_agents", p: str | None = None) -> pl.DataFrame:
    """Add speedup, efficiency and token multiplier against the matching n = 1 runs.

    ``runs`` needs ``makespan_s``, ``tokens``, ``finished`` and the ``n`` column (e.g. a
    :func:`work_summary` joined with your own keys); ``by`` names the columns that define
    "matching" (model, suite, p, assignment ...). Unfinished runs get null speedups.
    """
    keys = list(by)
    base = runs.filter(pl.col("finished") & (pl.col(n) == 1))
    base = base.group_by(keys).agg(baseline_s=pl.col("makespan_s").mean(), baseline_tokens=pl.col("tokens").mean()) \
        if keys else base.select(baseline_s=pl.col("makespan_s").mean(), baseline_tokens=pl.col("tokens").mean())
    out = runs.join(base, on=keys, how="left") if keys else runs.join(base, how="cross")
    ok = pl.col("finished")
    out = out.with_columns(
        speedup=pl.when(ok).then(pl.col("baseline_s") / pl.col("makespan_s")),
        token_multiplier=pl.when(ok).then(pl.col("tokens") / pl.col("baseline_tokens")),
    ).with_columns(efficiency=pl.col("speedup") / pl.col(n))
    if p is not None:  # a reference model beside the measurement, not a bound on it
        out = out.with_columns(amdahl=amdahl(pl.col(p), pl.col(n).cast(pl.Float64)))
    return out


def _work_and_span(detail: str) -> tuple[int, int] | None:
    """(W, C) of a simulated work-division run's spec, as its work was drawn; else None."""
    spec = TeamSpec.from_json(detail)
    if spec.task.work is None or any(a.backend != "simulated" for a in spec.agents):
        return None
    drawn = draw_work(spec)
    tasks = [t.replace(work=drawn[t.id]) for t in spec.task.work.dag]
    size = {t.id: t.work for t in tasks}
    return sum(size.values()), sum(size[t] for t in critical_path(tasks))


def work_bounds(events: pl.DataFrame) -> pl.DataFrame:
    """Per simulated work-division run: workers, work W, span C, the fewest rounds any
    schedule needs, the work speedup W / makespan_rounds (finished runs) and the
    critical-path bound it never exceeds (see the module docstring)."""
    starts = events.filter(pl.col("kind") == "RunStarted").select("run_id", "detail").unique("run_id").sort("run_id")
    sizes = {d: _work_and_span(d) for d in starts["detail"].unique().to_list()}
    rows = [(run_id, *sizes[d]) for run_id, d in starts.iter_rows() if sizes[d] is not None]
    base = pl.DataFrame(rows, schema={"run_id": pl.String, "work": pl.Int64, "span": pl.Int64}, orient="row")
    workers = events.filter(pl.col("kind") == "AgentReplied").group_by("run_id", "round").agg(
        w=pl.col("count").sum()).group_by("run_id").agg(workers=pl.col("w").max())
    ends = work_summary(events).select("run_id", "makespan_rounds", "finished")
    out = base.join(workers, on="run_id", how="left").join(ends, on="run_id", how="left")
    w = pl.col("workers").cast(pl.Float64)
    return out.with_columns(
        min_rounds=pl.max_horizontal(pl.col("span"), (pl.col("work") / w).ceil().cast(pl.Int64)),
        work_speedup=pl.when(pl.col("finished")).then(pl.col("work") / pl.col("makespan_rounds")),
        work_span_bound=pl.min_horizontal(w, pl.col("work") / pl.col("span")),
    ).select("run_id", "workers", "work", "span", "min_rounds", "makespan_rounds", "finished", "work_speedup",
             "work_span_bound")


def run_specs(events: pl.DataFrame) -> pl.DataFrame:
    """Per run, from the spec JSON in ``RunStarted``: name, seed, agents, task kind, and
    for work division the assignment mode, declared p and source file."""
    starts = events.filter(pl.col("kind") == "RunStarted").select("run_id", "detail")
    spec = pl.col("detail")
    return starts.select(
        "run_id",
        name=spec.str.json_path_match("$.name"),
        seed=spec.str.json_path_match("$.seed").cast(pl.Int64),
        agents=spec.str.count_matches('"backend":'),
        task=spec.str.json_path_match("$.task.kind"),
        assignment=spec.str.json_path_match("$.task.work.assignment"),
        parallel_fraction=spec.str.json_path_match("$.task.work.parallel_fraction").cast(pl.Float64),
        source=spec.str.json_path_match("$.task.work.source"),
    ).sort("run_id")
