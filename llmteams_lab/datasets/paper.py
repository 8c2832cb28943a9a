"""The paper's 1,413 real LLM-team runs (arXiv 2603.12229) in llmteams_lab's event schema.

``load_paper_dataset(path)`` reads ``runs.parquet`` and ``events.parquet`` from a copy of
the paper's released data (the repository ``emieczkowski/distributed-llm-teams``: its
``data/`` files plus, optionally, its ``tasks/`` folder next to them) and converts every
run into our events, so every metric, plot and the replay work on it unchanged.
Without ``path`` the data is found by :func:`paper_data_path`: ``$LLMTEAMS_PAPER_DATA``,
else (in a source checkout) ``data/paper-2603.12229`` in the project root or
``../shared/data/paper-2603.12229`` beside it — never relative to the working directory,
which in a notebook is the notebook's folder, so the same call works from any notebook.


=============  ==================================================================
paper event    our event
=============  ==================================================================
run_start      ``RunStarted`` (detail: a work-division spec of the run: agents
               Dev1..Devn, the suite's task file, the assignment mode)
round_start    ``RoundStarted``
agent_reply    ``AgentReplied`` (t_start: its round's start, t_end: the reply; value:
               what the reply did, counted from the actions after it: ``claim ×2, write ×3``)
edit_file      ``FileWritten`` (value: the path)
claim_task     ``TaskClaimed``;  claim_blocked → ``ClaimBlocked`` (dependencies)
complete_task  ``TaskCompleted``; run_tests → ``TestsRan`` (value: exit code)
run_end        ``RoundEnded`` of the last round, then ``RunEnded`` (reason
               ``all_tasks_done`` for successful runs, else ``max_rounds``; it carries
               the run's token totals — per-reply usage was not released)
=============  ==================================================================

Every round gets a ``RoundEnded`` at the next round's start. ``lock_attempt`` rows are
dropped (each is followed by its ``edit_file``; none was refused). The paper logs each
reply followed by that agent's actions, so actions without an agent (edits, blocked
claims, completions, tests) are attributed to the reply before them. The clock starts
at the runner's start: ``RunEnded.t_end`` is exactly ``wall_clock_seconds``. Task ids
were not released, so task events carry no task id. ``runs.parquet``'s
``concurrent_writes``/``claims_blocked`` are kept in ``runs`` but not used by the metrics
(169 runs carry zeros there), which recompute them from the events;
``paper_figures.run_table`` shows them beside ours.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import polars as pl

from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import DatasetError
from llmteams_lab.events import Event
from llmteams_lab.metrics.frame import SCHEMA
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import AgentSpec, Budgets, TaskSpec, TeamSpec, WorkSpec

__all__ = ["ASSIGNMENT_OF_MODE", "PAPER_DATA_ENV", "PaperDataset", "load_paper_dataset", "paper_data_path"]

PAPER_DATA_ENV = "LLMTEAMS_PAPER_DATA"  # the folder holding runs.parquet and events.parquet (+ tasks/)
_FOLDER = "paper-2603.12229"
_WHERE_FROM = ("the data/ folder of the repository emieczkowski/distributed-llm-teams, with its tasks/ "
               "folder copied beside the two files")

RUNS_COLUMNS = {"run_dir": pl.String, "model_dir": pl.String, "mode": pl.String, "task_type": pl.String,
                "p_label": pl.String, "p_true": pl.Float64, "n_teammates": pl.Int64, "rep": pl.Int64,
                "success": pl.Boolean, "wall_clock_seconds": pl.Float64, "total_rounds": pl.Int64,
                "total_input_tokens": pl.Int64, "total_output_tokens": pl.Int64}
EVENTS_COLUMNS = {"type": pl.String, "ts": pl.Float64, "run_dir": pl.String, "round": pl.Float64,
                  "agent": pl.String, "path": pl.String, "returncode": pl.Float64, "seconds": pl.Float64}
ASSIGNMENT_OF_MODE = {"decentralized": "self_claim", "preassign_nolead": "pre_assigned",
                      "preassign": "pre_assigned", "lead_assign": "lead_assigned"}
_KINDS = {"run_start": "RunStarted", "round_start": "RoundStarted", "agent_reply": "AgentReplied",
          "edit_file": "FileWritten", "claim_task": "TaskClaimed", "claim_blocked": "ClaimBlocked",
          "complete_task": "TaskCompleted", "run_tests": "TestsRan", "run_end": "RunEnded"}


@dataclass
class PaperDataset:
    """The paper's runs (``runs``: one row per run, keyed by ``run_id``) and all their
    events in our schema (``events``); ``tasks_dir`` holds the suites' task files."""

    path: Path
    runs: pl.DataFrame
    events: pl.DataFrame = field(repr=False)
    tasks_dir: Path | None = None

    @property
    def run_ids(self) -> list[str]:
        return self.runs["run_id"].to_list()

    def run(self, run_id: str) -> dict[str, Any]:
        """One run's row of ``runs`` as a dict."""
        rows = self.runs.filter(pl.col("run_id") == run_id)
        if rows.is_empty():
            raise DatasetError(f"no run {run_id!r} in {self.path / 'runs.parquet'}")
        return rows.row(0, named=True)

    def records(self, run_id: str) -> list[Event]:
        """One run's events as typed records (what a replay steps through)."""
        from llmteams_lab.datasets.traces import records_from_frame

        self.run(run_id)
        return records_from_frame(self.events.filter(pl.col("run_id") == run_id))

    def spec(self, run_id: str, *, backend: str = "replay") -> TeamSpec:
        """The run as a work-division spec; ``backend="simulated"`` to fork it offline."""
        row = self.run(run_id)
        return _spec(row, self.tasks_dir, backend)

    def replay(self, run_id: str, *, sinks: Sequence[Sink] = ()) -> ReplayRun:
        """Step through one real run with the engine's ``step()`` semantics."""
        return ReplayRun(self.records(run_id), spec=self.spec(run_id), sinks=sinks)


def paper_data_path(path: str | os.PathLike | None = None) -> Path:
    """The folder of the paper's data: ``path`` if given (relative to the working
    directory, like any path), else ``$LLMTEAMS_PAPER_DATA``, else the first of
    ``<project root>/data/paper-2603.12229`` and ``<project root>/../shared/data/paper-2603.12229``
    holding ``runs.parquet`` (a source checkout only: an installed package has no project
    root). A :class:`DatasetError` names every place looked in and how to provide the data."""
    if path is not None:
        return Path(path)
    env = os.environ.get(PAPER_DATA_ENV)
    if env:
        return Path(env)
    candidates = _project_candidates()
    for folder in candidates:
        if (folder / "runs.parquet").is_file():
            return folder
    looked = [f"${PAPER_DATA_ENV} (not set)"] + [str(c) for c in candidates]
    if not candidates:
        looked.append("no project root (llmteams_lab is installed, not a source checkout)")
    raise DatasetError(f"the paper's data was not found; looked in: {'; '.join(looked)}. Set {PAPER_DATA_ENV} "
                       f"to a folder holding runs.parquet and events.parquet ({_WHERE_FROM}), or pass that "
                       "folder to load_paper_dataset(path)")


def _project_candidates() -> list[Path]:
    """Where a source checkout keeps the data: in its root, or in ``../shared`` beside it."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        return []
    return [root / "data" / _FOLDER, (root.parent / "shared" / "data" / _FOLDER)]


def load_paper_dataset(path: str | os.PathLike | None = None) -> PaperDataset:
    """Read and convert the paper's data at ``path`` (default: :func:`paper_data_path`;
    see the module docstring)."""
    given = path is not None
    root = paper_data_path(path)
    missing = [n for n in ("runs.parquet", "events.parquet") if not (root / n).is_file()]
    if missing:
        source = "" if given else f" (from ${PAPER_DATA_ENV})"
        raise DatasetError(f"no {' or '.join(missing)} in {str(root)!r}{source} (missing: {missing}); point "
                           f"load_paper_dataset (or ${PAPER_DATA_ENV}) at a copy of the paper's data folder holding "
                           f"runs.parquet and events.parquet ({_WHERE_FROM})")
    runs = _read(root, "runs.parquet", RUNS_COLUMNS)
    raw = _read(root, "events.parquet", EVENTS_COLUMNS)
    tasks = root / "tasks"
    tasks_dir = tasks if tasks.is_dir() else None
    runs = runs.with_columns(
        run_id=pl.col("run_dir"), model=pl.col("model_dir"), suite=pl.col("task_type"), p=pl.col("p_true"),
        n_agents=pl.col("n_teammates"), tokens=pl.col("total_input_tokens") + pl.col("total_output_tokens"),
        assignment=pl.col("mode").replace_strict(ASSIGNMENT_OF_MODE, default="self_claim"),
    )
    return PaperDataset(root, runs, _convert(raw, runs, tasks_dir), tasks_dir)


def _read(root: Path, name: str, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    file = root / name
    try:
        frame = pl.read_parquet(file)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise DatasetError(f"{file}: not a readable parquet file ({err})") from None
    lacking = sorted(set(columns) - set(frame.columns))
    if lacking:
        extra = sorted(set(frame.columns) - set(columns))
        raise DatasetError(f"{file}: unexpected columns: missing {lacking}, unexpected {extra}; "
                           f"expected at least {list(columns)}")
    try:
        return frame.with_columns(pl.col(c).cast(t) for c, t in columns.items())
    except pl.exceptions.PolarsError as err:
        raise DatasetError(f"{file}: columns of unexpected types ({err}); expected {columns}") from None


def _spec(row: dict[str, Any], tasks_dir: Path | None, backend: str = "replay",
          cache: dict | None = None) -> TeamSpec:
    cache = {} if cache is None else cache
    n = int(row["n_teammates"])
    task_file = tasks_dir / f"amdahl_{row['task_type']}" / f"{row['p_label']}.json" if tasks_dir else None
    dag = {"source": str(task_file)} if task_file is not None and task_file.is_file() \
        else {"parallel_fraction": float(row["p_true"])}
    assignment = ASSIGNMENT_OF_MODE.get(row["mode"], "self_claim")
    key = (assignment, *dag.values())
    work = cache[key] if key in cache else cache.setdefault(key, WorkSpec(assignment=assignment, **dag))
    agents = tuple(AgentSpec(f"Dev{i + 1}", backend=backend, model=row["model_dir"]) for i in range(n))
    return TeamSpec(agents, task=TaskSpec(kind="work_division", work=work),
                    budgets=Budgets(max_rounds=max(60, int(row["total_rounds"]))),
                    name=f"paper-{row['model_dir']}-{row['task_type']}-{row['p_label']}-{row['mode']}")


def _spec_details(runs: pl.DataFrame, tasks_dir: Path | None) -> pl.DataFrame:
    """Per run: its spec name and JSON (built once per distinct condition)."""
    keys = ["model_dir", "task_type", "p_label", "p_true", "mode", "n_teammates", "total_rounds"]
    combos = runs.select(keys).unique()
    cache: dict = {}
    specs = [_spec(row, tasks_dir, cache=cache) for row in combos.iter_rows(named=True)]
    combos = combos.with_columns(spec_name=pl.Series([s.name for s in specs], dtype=pl.String),
                                 spec_json=pl.Series([s.to_json() for s in specs], dtype=pl.String))
    return runs.join(combos, on=keys, how="left").select("run_dir", "spec_name", "spec_json")


def _convert(raw: pl.DataFrame, runs: pl.DataFrame, tasks_dir: Path | None) -> pl.DataFrame:
    meta = runs.select("run_dir", "success", "wall_clock_seconds", "total_input_tokens", "total_output_tokens",
                       "n_teammates")
    ends = raw.filter(pl.col("type") == "run_end").group_by("run_dir").agg(end_ts=pl.col("ts").last())
    meta = meta.join(ends, on="run_dir", how="inner").with_columns(
        origin=pl.col("end_ts") - pl.col("wall_clock_seconds")).join(_spec_details(runs, tasks_dir), on="run_dir")
    ev = raw.with_row_index("i").join(meta, on="run_dir", how="inner").with_columns(
        actor=pl.when(pl.col("type") == "agent_reply").then(pl.col("agent"))
        .when(pl.col("type") == "round_start").then(pl.lit("")).otherwise(None).forward_fill().over("run_dir"),
        round=pl.col("round").cast(pl.Int64),
        t=pl.col("ts") - pl.col("origin"),
        reply_no=(pl.col("type") == "agent_reply").cum_sum().over("run_dir"),
    )
    starts = ev.filter(pl.col("type") == "round_start").select("run_dir", "round", start_t=pl.col("t"),
                                                               start_i=pl.col("i"))
    ev = ev.join(starts.select("run_dir", "round", "start_t"), on=["run_dir", "round"], how="left")
    ev = ev.join(_reply_labels(ev), on=["run_dir", "reply_no"], how="left")
    kept = ev.filter(pl.col("type").is_in(list(_KINDS)))
    rows = kept.select(_event_columns()).with_columns(key=pl.col("i") * 2)
    closes = _round_ends(starts, ev)
    out = pl.concat([rows, closes], how="diagonal_relaxed").sort("run_id", "key")
    out = out.with_columns(seq=pl.int_range(pl.len(), dtype=pl.Int64).over("run_id"),
                           cause=pl.lit(None, dtype=pl.Int64))  # the paper's logs record no causes
    return out.select([pl.col(c).cast(t) for c, t in SCHEMA.items()])


def _event_columns() -> list[pl.Expr]:
    kind = pl.col("type")
    agent = pl.when(kind.is_in(("run_start", "round_start", "run_end"))).then(None) \
        .otherwise(pl.coalesce(pl.col("agent"), pl.when(pl.col("actor") != "").then(pl.col("actor"))))
    t_end = pl.when(kind == "run_end").then(pl.col("wall_clock_seconds")).when(kind == "run_start") \
        .then(pl.col("t").clip(lower_bound=0.0)).otherwise(pl.col("t"))
    t_start = pl.when(kind == "agent_reply").then(pl.col("start_t")) \
        .when(kind == "run_tests").then(pl.col("t") - pl.col("seconds").fill_null(0.0)).otherwise(t_end)
    code = pl.col("returncode").cast(pl.Int64).cast(pl.String)
    return [
        pl.col("run_dir").alias("run_id"),
        pl.when(kind == "run_start").then(0).otherwise(pl.col("round")).alias("round"),
        kind.replace_strict(_KINDS, default=None).alias("kind"),
        agent.alias("agent"),
        pl.lit(None, dtype=pl.String).alias("peer"),
        t_start.alias("t_start"), t_end.alias("t_end"),
        pl.when(kind == "edit_file").then(pl.col("path")).when(kind == "run_tests").then(code)
        .when(kind == "run_start").then(pl.col("spec_name"))
        .when(kind == "agent_reply").then(pl.col("did").fill_null("idle")).alias("value"),
        pl.when(kind == "run_tests").then(pl.col("returncode") == 0).when(kind == "run_end")
        .then(pl.col("success")).alias("correct"),
        pl.when(kind == "run_end").then(pl.col("total_input_tokens")).otherwise(0).alias("tokens_in"),
        pl.when(kind == "run_end").then(pl.col("total_output_tokens")).otherwise(0).alias("tokens_out"),
        pl.lit(None, dtype=pl.Float64).alias("cost_usd"),
        pl.lit(None, dtype=pl.String).alias("fault"),
        pl.when(kind == "run_start").then(pl.col("spec_json"))
        .when(kind == "claim_blocked").then(pl.lit("dependencies_not_done"))
        .when(kind == "run_end").then(pl.when(pl.col("success")).then(pl.lit("all_tasks_done"))
                                      .otherwise(pl.lit("max_rounds"))).alias("detail"),
        pl.lit(1, dtype=pl.Int64).alias("count"),
        "i",
    ]


_ACTS = {"claim_task": "claim", "claim_blocked": "blocked claim", "edit_file": "write", "complete_task": "complete",
         "run_tests": "test"}


def _reply_labels(ev: pl.DataFrame) -> pl.DataFrame:
    """What each reply did, counted from the actions logged after it (``claim ×3, write ×2``)."""
    acts = ev.filter(pl.col("type").is_in(list(_ACTS)) & (pl.col("reply_no") > 0))
    counts = acts.group_by("run_dir", "reply_no", "type").agg(n=pl.len(), first=pl.col("i").min())
    parts = counts.sort("first").with_columns(
        part=pl.format("{} ×{}", pl.col("type").replace_strict(_ACTS), pl.col("n")))
    return parts.group_by("run_dir", "reply_no").agg(did=pl.col("part").str.join(", "))


def _round_ends(starts: pl.DataFrame, ev: pl.DataFrame) -> pl.DataFrame:
    """A ``RoundEnded`` for every round, placed just before the next round (or run end)."""
    end = ev.filter(pl.col("type") == "run_end").select("run_dir", end_i=pl.col("i"),
                                                        end_t=pl.col("wall_clock_seconds"))
    s = starts.sort("run_dir", "round").join(end, on="run_dir").with_columns(
        next_i=pl.col("start_i").shift(-1).over("run_dir"), next_t=pl.col("start_t").shift(-1).over("run_dir"))
    return s.select(
        run_id=pl.col("run_dir"), round=pl.col("round"), kind=pl.lit("RoundEnded"),
        t_start=pl.col("start_t"), t_end=pl.coalesce(pl.col("next_t"), pl.col("end_t")),
        count=pl.lit(1, dtype=pl.Int64), tokens_in=pl.lit(0, dtype=pl.Int64), tokens_out=pl.lit(0, dtype=pl.Int64),
        key=pl.coalesce(pl.col("next_i"), pl.col("end_i")) * 2 - 1,
    )
