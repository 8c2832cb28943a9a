"""One-file HTML reports of a run, a comparison or a sweep — to mail, archive or open offline.

Why one file: a report is read by people who do not have the lab (a reviewer, a
colleague, you in a year). Everything is inside: the spec, summary tables, the fault
schedule and interactive plotly charts, with plotly.js embedded **once** (~3.5 MB)
however many charts there are, and no request to any network. A 1,000-run sweep's
report is a few MB: runs are summarised per design, never embedded row by row.

* :func:`write_report`   the report of a directory a sweep or ``llmteams-lab run`` wrote
* :func:`sweep_report`   a sweep's directory: designs with intervals, Pareto front with
                         the baseline, robustness and scaling curves, baseline gains
* :func:`run_report`     one run: convergence, overhead, space-time diagram, faults
* :func:`compare_report` 2–4 runs of the same seeds side by side
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import polars as pl

from llmteams_lab.errors import ArgumentError, DatasetError
from llmteams_lab.experiments.store import load_results
from llmteams_lab.export import _page
from llmteams_lab.metrics import (
    baseline_gains,
    convergence,
    design_summary,
    label_columns,
    overhead,
    pareto_front,
    round_summary,
)
from llmteams_lab.plots import (
    convergence_figure,
    gains_figure,
    overhead_figure,
    pareto_figure,
    robustness_figure,
    scaling_figure,
    spacetime_figure,
)
from llmteams_lab.spec import TeamSpec

__all__ = ["compare_report", "run_report", "sweep_report", "write_report"]


def write_report(source: str | os.PathLike, out: str | os.PathLike) -> Path:
    """The report of a directory: a sweep's (``sweep.json``) or a run's
    (``events.parquet`` + ``spec.toml``, as ``llmteams-lab run`` writes)."""
    root = Path(source)
    if (root / "sweep.json").is_file():
        return sweep_report(root, out)
    if (root / "events.parquet").is_file():
        from llmteams_lab.datasets import read_events

        events = read_events(root / "events.parquet")
        spec_file = root / "spec.toml"
        spec = TeamSpec.from_toml(spec_file.read_text(encoding="utf-8")) if spec_file.is_file() else None
        return run_report(events, out, spec=spec, title=f"Run {root.name}")
    raise ArgumentError("path", "must be a sweep directory (with sweep.json) or a run directory "
                        "(with events.parquet)", str(root))


def sweep_report(source: str | os.PathLike, out: str | os.PathLike, *, title: str | None = None) -> Path:
    """The report of the sweep written to ``source``."""
    root = Path(source)
    table = load_results(root)
    manifest = json.loads((root / "sweep.json").read_text(encoding="utf-8"))
    if table.is_empty():
        raise DatasetError(f"the sweep in {str(root)!r} has no finished runs yet")
    page = _page.Page(title or f"Sweep {root.name}")
    labels = label_columns(table)
    team = design_summary(table, arm="team")
    page.paragraph(f"{table.filter(pl.col('arm') == 'team').height:,} runs: {team.height} design(s) × "
                   f"{len(manifest['seeds'])} seed(s) (the same seeds for every design). Intervals are 95 %: "
                   "Wilson for rates, bootstrap for means.")
    page.section("Designs", _page.table(pareto_front(team).select(
        *labels, "runs", "accuracy", "accuracy_low", "accuracy_high", "decided", "tokens", "clock_s", "messages",
        "rounds", "pareto")))
    baseline = design_summary(table, arm="self_consistency") if "self_consistency" in table["arm"] else None
    page.figure(pareto_figure(team, baseline=baseline))
    if baseline is not None:
        gains = baseline_gains(table)
        page.section("Team vs baselines", _page.table(gains.drop("design")))
        page.figure(gains_figure(gains))
    for figure in _curves(table, team, labels):
        page.figure(figure)
    page.section("Base spec", _page.code(TeamSpec.from_dict(manifest["base"]).to_toml()))
    page.section("Fault schedules", _fault_schedules(manifest))
    return page.write(out)


def _curves(table: pl.DataFrame, team: pl.DataFrame, labels: list[str]) -> list[Any]:
    """Robustness curves over every numeric grid key, and scaling curves over ``n``."""
    figures = []
    numeric = [c for c in labels if team[c].dtype.is_numeric() and team[c].n_unique() > 1]
    for x in numeric:
        others = [c for c in labels if c != x and team[c].n_unique() > 1]
        by = others[0] if len(others) == 1 else None
        if by is None and others:
            team = team.with_columns(_group=pl.concat_str([pl.col(c).cast(pl.String) for c in others],
                                                          separator=" · "))
            by = "_group"
        figures.append(robustness_figure(team, x, by, title=f"Accuracy vs {x}"))
    if "n" in numeric:
        others = [c for c in labels if c != "n" and team[c].n_unique() > 1]
        by = others[0] if len(others) == 1 else None
        for y in ("messages", "tokens"):
            figures.append(scaling_figure(table, "n", y, by))
    return figures


def _fault_schedules(manifest: Mapping[str, Any]) -> str:
    seen: dict[str, Any] = {}
    for design in manifest["designs"]:
        name = design["labels"].get("faults", "base")
        seen.setdefault(str(name), design["spec"].get("faults", []))
    if not any(seen.values()):
        return "<p>No faults: every design ran fault-free.</p>"
    rows = [{"scenario": name, "faults": json.dumps(faults) if faults else "none"} for name, faults in seen.items()]
    return _page.table(pl.DataFrame(rows))


def run_report(events: pl.DataFrame, out: str | os.PathLike, *, spec: TeamSpec | None = None,
               title: str = "Run report") -> Path:
    """The report of one run's events (a live run's ``result.events`` or a saved log)."""
    page = _page.Page(title)
    _run_sections(page, events, spec)
    return page.write(out)


def compare_report(runs: Mapping[str, pl.DataFrame], out: str | os.PathLike, *,
                   specs: Mapping[str, TeamSpec] | None = None, title: str = "Comparison") -> Path:
    """2–4 runs (name -> events) side by side: a summary row each, then each run's charts."""
    if not 2 <= len(runs) <= 4:
        raise ArgumentError("runs", "must hold 2 to 4 runs", len(runs))
    page = _page.Page(title)
    rows = []
    for name, events in runs.items():
        ends = events.filter(pl.col("kind") == "RunEnded").tail(1)
        rows.append({"design": name, "rounds": int(events["round"].max() or 0),
                     "decision": ends["value"][0] if ends.height else None,
                     "correct": ends["correct"][0] if ends.height else None,
                     "messages": int(events.filter(pl.col("kind") == "MessageSent")["count"].sum()),
                     "clock_s": float(events["t_end"].max() or 0.0)})
    page.section("Designs", _page.table(pl.DataFrame(rows)))
    for name, events in runs.items():
        page.heading(name)
        _run_sections(page, events, (specs or {}).get(name))
    return page.write(out)


def _run_sections(page: "_page.Page", events: pl.DataFrame, spec: TeamSpec | None) -> None:
    summary = round_summary(events)
    page.section("Rounds", _page.table(summary.drop("run_id")))
    page.figure(convergence_figure(convergence(events)))
    page.figure(overhead_figure(overhead(events), len(spec.agents) if spec is not None else None))
    if events.filter(pl.col("kind") == "MessageSent").height:
        page.figure(spacetime_figure(events))
    faults = events.filter(pl.col("kind") == "FaultApplied").select("round", "agent", "peer", "fault", "detail")
    page.section("Fault schedule", _page.table(faults) if faults.height else "<p>No fault acted in this run.</p>")
    if spec is not None:
        page.section("Spec", _page.code(spec.to_toml()))


