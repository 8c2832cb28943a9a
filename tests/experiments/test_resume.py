"""Results on disk: streamed in parts, resumed without duplicates, even after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from llmteams_lab import team
from llmteams_lab.errors import ArgumentError, DatasetError
from llmteams_lab.experiments import ResultStore, load_results, sweep

ROOT = Path(__file__).resolve().parents[2]
BASE = team(6, competence=0.5, max_rounds=6)
GRID = {"n": [4, 6], "topology.kind": ["ring", "complete"]}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def test_rows_stream_to_parts_and_a_rerun_runs_nothing(tmp_path):
    first = sweep(BASE, GRID, seeds=range(4), out=tmp_path, batch_size=3)
    parts = ResultStore(tmp_path).parts()
    assert len(parts) > 1 and first.height == 16
    again = sweep(BASE, GRID, seeds=range(4), out=tmp_path, batch_size=3)
    assert ResultStore(tmp_path).parts() == parts and again.equals(first)
    assert load_results(tmp_path).equals(first)


def test_extending_seeds_runs_only_the_new_ones_and_equals_a_fresh_sweep(tmp_path):
    sweep(BASE, GRID, seeds=range(3), out=tmp_path / "grown")
    grown = sweep(BASE, GRID, seeds=range(5), out=tmp_path / "grown")
    assert grown.equals(sweep(BASE, GRID, seeds=range(5)))


def test_another_grid_in_the_same_directory_is_refused(tmp_path):
    sweep(BASE, GRID, seeds=[0], out=tmp_path)
    with pytest.raises(ArgumentError, match="holds a sweep over other grid keys"):
        sweep(BASE, {"n": [3]}, seeds=[0], out=tmp_path)
    with pytest.raises(DatasetError, match="holds no sweep"):
        load_results(tmp_path / "nothing")


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    with ResultStore(tmp_path):
        with pytest.raises(ArgumentError, match="is being written by another sweep"):
            sweep(BASE, seeds=[0], out=tmp_path)


_KILLED = """
import sys
from llmteams_lab import team
from llmteams_lab.experiments import sweep
sweep(team(6, competence=0.5, max_rounds=6), {"n": [4, 6], "topology.kind": ["ring", "complete"]},
      seeds=range(60), out=sys.argv[1], batch_size=2, workers=WORKERS)
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_resume_after_sigkill_equals_an_uninterrupted_sweep(tmp_path, workers):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED.replace("WORKERS", str(workers)), str(out)],
                            env=_env(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(ResultStore(out).parts()) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = load_results(out)
    assert 0 < partial.height < 240, "the sweep must be killed mid-way for this test to mean anything"
    assert partial.select("design", "seed").is_duplicated().sum() == 0
    resumed = sweep(BASE, GRID, seeds=range(60), out=out, batch_size=2)
    assert resumed.equals(sweep(BASE, GRID, seeds=range(60)))  # row for row, no duplicates


_NO_GUARD = """
from llmteams_lab import team
from llmteams_lab.experiments import sweep
table = sweep(team(4), {"n": [3, 4]}, seeds=range(6), workers=2)
print(table.height, table["correct"].sum())
"""


@pytest.mark.slow
def test_a_pool_works_from_a_script_without_main_guard_and_from_python_c(tmp_path):
    script = tmp_path / "no_guard.py"
    script.write_text(textwrap.dedent(_NO_GUARD), encoding="utf-8")
    expected = sweep(team(4), {"n": [3, 4]}, seeds=range(6))
    line = f"{expected.height} {expected['correct'].sum()}"
    for argv in ([sys.executable, str(script)], [sys.executable, "-c", _NO_GUARD]):
        done = subprocess.run(argv, env=_env(), capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == line


def test_parts_are_parquet_with_one_schema(tmp_path):
    sweep(BASE, GRID, seeds=range(2), out=tmp_path, batch_size=1)
    schemas = {tuple(pl.read_parquet_schema(p).items()) for p in ResultStore(tmp_path).parts()}
    assert len(schemas) == 1
