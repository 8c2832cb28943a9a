"""``llmteams-lab sweep``: a SWEEP.toml into a resumable dataset; clear refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llmteams_lab.cli import main
from llmteams_lab.experiments import load_results, sweep
from llmteams_lab.experiments.config import load_sweep

SWEEP = """
seeds = 6
baselines = true

[base]
size = 4
agent = { competence = 0.55 }
budgets = { max_rounds = 4 }

[grid]
n = [3, 5]

[grid.faults]
none = []
"liar@a0" = [{ kind = "byzantine", agent = "a0" }]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "SWEEP.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sweep_command_writes_the_same_table_as_python_and_resumes(tmp_path, capsys):
    path = _write(tmp_path, SWEEP)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "liar@a0" in printed and "72 rows in" in printed
    config = load_sweep(path)
    assert load_results(tmp_path / "out").equals(sweep(**config))
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "resuming: 24 of 24 runs already in" in capsys.readouterr().out


@pytest.mark.parametrize(("text", "message"), [
    ("seeds = 3\n[grid]\nn = [2]\n", "'base' is required"),
    ("colour = 1\n[base]\nsize = 2\n", "'colour' is not a sweep setting"),
    ("[base]\nsize = 2\nagent = { competence = 2 }\n", "'base.agents[0].competence' must be in [0, 1] (got 2)"),
    ("[base]\nsize = 2\n[grid]\n\"topology.knd\" = [\"ring\"]\n", "'topology.knd' is not a known field"),
])
def test_bad_sweep_files_get_the_spec_s_message_and_exit_2(tmp_path, capsys, text, message):
    assert main(["sweep", str(_write(tmp_path, text)), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_an_expensive_llm_sweep_is_refused_without_yes_and_never_reads_stdin(tmp_path):
    text = ("seeds = 50\n[base]\nsize = 5\nendpoint = { base_url = 'http://127.0.0.1:9/v1', model = 'gpt-4o' }\n"
            "agent = { backend = 'openai' }\nbudgets = { max_rounds = 10 }\n")
    done = subprocess.run([sys.executable, "-m", "llmteams_lab.cli", "sweep", str(_write(tmp_path, text)),
                           "--out", str(tmp_path / "o"), "--max-cost", "0.01"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "worst case for 50 LLM-backed run(s):" in done.stdout
    assert "could spend up to $" in done.stderr and "pass --yes" in done.stderr
    assert "Traceback" not in done.stderr
