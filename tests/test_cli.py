"""The command line: ``llmteams-lab run TEAM.toml --out DIR [--seed] [--rounds]``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from llmteams_lab import TeamSpec
from llmteams_lab.cli import main
from llmteams_lab.datasets import read_events

ROOT = Path(__file__).resolve().parents[1]
TEAM_TOML = """\
seed = 1
size = 5

[agent]
competence = 0.45
conformity = 0.5

[topology]
kind = "ring"

[protocol]
kind = "debate"
stop_at_consensus = false

[budgets]
max_rounds = 12
"""


@pytest.fixture
def team_toml(tmp_path) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(TEAM_TOML, encoding="utf-8")
    return path


def test_run_writes_events_summary_and_spec(tmp_path, team_toml, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(team_toml), "--out", str(out), "--seed", "7", "--rounds", "3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["events.jsonl", "events.parquet", "spec.toml", "summary.csv"]
    spec = TeamSpec.from_toml((out / "spec.toml").read_text(encoding="utf-8"))
    assert (spec.seed, spec.budgets.max_rounds, len(spec.agents)) == (7, 3, 5)
    jsonl, parquet = read_events(out / "events.jsonl"), read_events(out / "events.parquet")
    assert jsonl.equals(parquet)
    assert jsonl["round"].max() == 3 and jsonl["kind"][-1] == "RunEnded"
    summary = pl.read_csv(out / "summary.csv")
    assert summary["round"].to_list() == [1, 2, 3]
    assert summary["messages"].to_list() == [10, 10, 10]  # a ring of 5: 2 messages per agent per round
    printed = capsys.readouterr().out
    assert "max_rounds after 3 round(s)" in printed and f"wrote {out / 'events.jsonl'}" in printed


def test_rerun_into_the_same_directory_keeps_the_log_unless_forced(tmp_path, team_toml, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(team_toml), "--out", str(out), "--rounds", "2"]) == 0
    before = (out / "events.jsonl").read_bytes()
    assert main(["run", str(team_toml), "--out", str(out), "--rounds", "3"]) == 2
    assert "pass --resume to continue it or --force to overwrite it" in capsys.readouterr().err
    assert (out / "events.jsonl").read_bytes() == before
    assert main(["run", str(team_toml), "--out", str(out), "--rounds", "3", "--force"]) == 0
    assert read_events(out / "events.jsonl")["run_id"].n_unique() == 1
    assert read_events(out / "events.jsonl").filter(pl.col("kind") == "RunStarted").height == 1
    assert read_events(out / "events.jsonl")["round"].max() == 3


def test_json_specs_are_accepted(tmp_path, capsys) -> None:
    path = tmp_path / "team.json"
    path.write_text(TeamSpec.from_toml(TEAM_TOML).to_json(), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--rounds", "1"]) == 0


@pytest.mark.parametrize(("toml", "message"), [
    ("size = 3\n[agent]\ncompetence = 1.4\n", "'agents[0].competence' must be in [0, 1] (got 1.4)"),
    ("size = 3\n[topology]\nkind = \"hexagon\"\n", "'topology.kind' must be one of"),
    ("size = = 3\n", "'<toml>' must be valid TOML"),
])
def test_bad_spec_exits_2_with_the_message_on_stderr(tmp_path, capsys, toml, message) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml, encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("llmteams-lab: error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_bad_override_and_missing_file(tmp_path, team_toml, capsys) -> None:
    assert main(["run", str(team_toml), "--out", str(tmp_path / "o"), "--rounds", "0"]) == 2
    assert capsys.readouterr().err == "llmteams-lab: error: 'max_rounds' must be an integer >= 1 (got 0)\n"
    assert main(["run", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "'spec' must be an existing TOML or JSON file" in capsys.readouterr().err


def test_module_entry_point_exit_status_and_stderr(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("size = 0\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "llmteams_lab.cli", "run", str(bad), "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == "llmteams-lab: error: 'size' must be an integer in [1, 10000000] (got 0)\n" and proc.stdout == ""


def test_demo_prints_a_convergence_table(capsys) -> None:
    assert main(["demo", "--agents", "4", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "agreement" in out and "run team-" in out
