"""The one-file HTML report opens in headless Chromium with the network blocked and
draws every chart (plotly.js comes from inside the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmteams_lab import FaultSpec, team
from llmteams_lab.experiments import sweep
from llmteams_lab.export import sweep_report
from tests.browser.jlab import chromium

pytestmark = pytest.mark.browser

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"


def test_sweep_report_opens_offline_and_shows_its_charts(tmp_path):
    base = team(4, competence=0.5, max_rounds=5).replace(faults=[FaultSpec(kind="drop", probability=0.0)])
    sweep(base, {"n": [3, 5, 8], "faults[0].probability": [0.0, 0.3]}, seeds=range(10), baselines=True,
          out=tmp_path / "sweep")
    report = sweep_report(tmp_path / "sweep", tmp_path / "report.html")
    requests: list[str] = []
    with chromium(1280, 2400) as page:
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))

        def block(route) -> None:  # any request leaving the file fails, as on a plane
            requests.append(route.request.url)
            route.abort()

        page.route("http://**/*", block)
        page.route("https://**/*", block)
        page.goto(report.as_uri())
        page.wait_for_function("document.querySelectorAll('.chart .main-svg').length >= 5", timeout=15_000)
        charts = page.locator(".chart").count()
        drawn = page.evaluate("Array.from(document.querySelectorAll('.chart')).filter("
                              "c => c.querySelector('.main-svg .trace')).length")
        titles = page.evaluate("Array.from(document.querySelectorAll('.chart .gtitle')).map(t => t.textContent)")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / "sweep_report.png"), full_page=True)
    assert requests == [] and errors == []
    assert charts >= 5 and drawn == charts, (charts, drawn)
    assert "Accuracy vs tokens (Pareto front)" in titles and "Accuracy vs faults[0].probability" in titles
