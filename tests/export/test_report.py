"""HTML reports: one file, plotly.js once, under 10 MB for a 1,000-run sweep; the CLI."""

from __future__ import annotations

import re

import pytest

from llmteams_lab import FaultSpec, run_sync, team
from llmteams_lab.cli import main
from llmteams_lab.errors import ArgumentError
from llmteams_lab.experiments import sweep
from llmteams_lab.export import compare_report, run_report, sweep_report

PLOTLY_BANNER = re.compile(r"plotly\.js v\d+\.\d+\.\d+")


def _charts(text: str) -> int:
    return text.count("Plotly.newPlot(")


@pytest.mark.slow
def test_a_1000_run_sweep_report_is_one_file_under_10_mb(tmp_path):
    base = team(5, competence=0.5, max_rounds=6, logging="rounds").replace(
        faults=[FaultSpec(kind="byzantine", agent="a0", probability=0.0)])
    sweep(base, {"n": [3, 5, 7, 9, 11], "faults[0].probability": [0.0, 0.25, 0.5, 0.75]}, seeds=range(50),
          baselines=True, out=tmp_path / "sweep", workers=2)
    path = sweep_report(tmp_path / "sweep", tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 10_000_000
    assert len(PLOTLY_BANNER.findall(text)) == 1  # the library embedded once
    assert _charts(text) >= 6 and "1,000 runs: 20 design(s) × 50 seed(s)" in text
    assert "http://" not in text.split("</script>", 1)[1].replace("http://www.w3.org", "")


def test_run_and_compare_reports_hold_the_spec_faults_and_charts(tmp_path):
    spec = team(5, competence=0.45, max_rounds=5).replace(faults=[FaultSpec(kind="drop", probability=0.2)])
    result = run_sync(spec)
    text = run_report(result.events, tmp_path / "run.html", spec=spec).read_text(encoding="utf-8")
    assert _charts(text) == 3 and "Space-time diagram" in text and "[[faults]]" in text
    assert "Fault schedule" in text
    other = run_sync(spec.replace(topology={"kind": "ring"}))
    both = compare_report({"complete": result.events, "ring": other.events}, tmp_path / "cmp.html")
    assert _charts(both.read_text(encoding="utf-8")) == 6
    with pytest.raises(ArgumentError, match="'runs' must hold 2 to 4 runs"):
        compare_report({"one": result.events}, tmp_path / "x.html")


def test_report_command_for_a_sweep_and_a_run_directory(tmp_path, capsys):
    sweep(team(3, max_rounds=3), {"n": [2, 3]}, seeds=range(3), out=tmp_path / "s")
    assert main(["report", str(tmp_path / "s"), "-o", str(tmp_path / "s.html")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "s.html").stat().st_size > 1_000_000
    (tmp_path / "team.toml").write_text(team(3, max_rounds=3).to_toml(), encoding="utf-8")
    assert main(["run", str(tmp_path / "team.toml"), "--out", str(tmp_path / "r")]) == 0
    assert main(["report", str(tmp_path / "r"), "-o", str(tmp_path / "r.html")]) == 0
    assert "[[agents]]" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "x.html")]) == 2
    assert "must be a sweep directory" in capsys.readouterr().err
