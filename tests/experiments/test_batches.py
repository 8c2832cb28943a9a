"""How a sweep cuts its runs into tasks (guided batch sizes) and carries their rows back
(columns, not dicts): every run exactly once, the same table however it is cut."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import team
from llmteams_lab.errors import ArgumentError
from llmteams_lab.experiments import designs, sweep
from llmteams_lab.experiments.runner import Task, as_columns, run_task
from llmteams_lab.experiments.store import ROW_SCHEMA, batch_frame
from llmteams_lab.experiments.sweep import _tasks


def _jobs(n_designs: int, seeds: int) -> list:
    grid = {"budgets.max_rounds": list(range(2, 2 + n_designs))}
    return [(d, s, ("team",)) for d in designs(team(3), grid) for s in range(seeds)]


def test_guided_batches_hold_every_run_once_in_order_big_first_small_last() -> None:
    jobs = _jobs(2, 5_000)
    tasks = _tasks(jobs, 2, None, True)
    assert [(t.design, seed) for t in tasks for seed, _ in t.seeds] == [(d.key, s) for d, s, _ in jobs]
    sizes = [len(t.seeds) for t in tasks]
    assert max(sizes) == 200 and sizes[0] == 200
    assert sizes[-2] == 16 and sizes[-1] <= 16  # the end: small batches, no worker idles behind a big one
    assert all(len({t.design}) == 1 for t in tasks)


def test_a_small_sweep_gives_every_worker_several_tasks_and_an_explicit_size_is_kept() -> None:
    assert len(_tasks(_jobs(1, 40), 2, None, True)) >= 8
    assert len(_tasks(_jobs(1, 100), 8, None, True)) >= 40
    assert [len(t.seeds) for t in _tasks(_jobs(1, 20), 2, 7, True)] == [7, 7, 6]
    for bad in (0, True, "3", 2.0):
        with pytest.raises(ArgumentError, match="'batch_size' must be an integer >= 1"):
            _tasks(_jobs(1, 4), 2, bad, True)


def test_the_pool_with_guided_batches_gives_the_in_process_table() -> None:
    grid = {"protocol.kind": ["debate", "majority"]}
    base = team(4, competence=0.5, max_rounds=3)
    assert sweep(base, grid, seeds=range(70), workers=2).equals(sweep(base, grid, seeds=range(70)))


def test_a_task_returns_columns_that_make_the_same_frame_as_its_rows() -> None:
    (design,) = designs(team(3, max_rounds=2), None)
    task = Task(design.key, design.labels, design.spec, ((0, ("team", "baselines")), (1, ("team",))))
    columns = run_task(task)
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    assert as_columns(rows) == columns
    assert batch_frame(columns, ROW_SCHEMA).equals(pl.DataFrame(rows, schema=ROW_SCHEMA))
    assert columns["arm"][0] == "team" and len(columns["seed"]) == len(rows) > 2


def test_a_column_no_row_has_is_null_in_the_batch_frame() -> None:
    frame = batch_frame({"design": ["d"], "seed": [3]}, ROW_SCHEMA)
    assert frame.columns == list(ROW_SCHEMA) and frame["run_id"].is_null().all() and frame["seed"].item() == 3
