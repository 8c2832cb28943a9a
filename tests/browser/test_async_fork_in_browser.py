"""Forking an asynchronous team and ending its fault, in a real JupyterLab with headless Chromium.

A six-agent asynchronous team whose a1 crashes in slice 2 is stepped to slice 4 by the
notebook. From the page: the fault log's "recover" button ends the crash (the run is
re-executed turn by turn up to where it stands, then a1 is back from the next slice);
two Steps show a1 acting again; the scrubber goes back to slice 2 and "Fork from here"
starts a new timeline there, which steps on while the old one stays in the timeline
menu. Screenshots go to ``test-output/browser``.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.jlab import open_and_run_all, status, wait_idle

pytestmark = pytest.mark.browser

CELL = """from llmteams_lab import FaultSpec, team
from llmteams_lab.ui import Lab

spec = team(6, protocol="debate", competence=0.5, conformity=0.5, seed=3, max_rounds=30).replace(
    execution="asynchronous", protocol={"kind": "debate", "stop_at_consensus": False},
    detector={"timeout_s": 2.0}, network={"delay_s": 0.1, "jitter": 0.3, "tick_s": 1.0},
    faults=[FaultSpec(kind="crash", agent="a1", at_round=2)])
lab = Lab(spec)
for _ in range(4):
    await lab.step()
lab"""


def _slice(page, r: int, *, shown: int | None = None) -> None:
    page.wait_for_function("([r, s]) => { const l = document.querySelector('.ltl-status-line');"
                           " return l && +l.dataset.round === r && +l.dataset.shown === s"
                           " && l.dataset.state === 'idle'; }", arg=[r, r if shown is None else shown],
                           timeout=15_000)


def _a1(page) -> str:
    return page.locator(".ltl-graph .ltl-node[data-agent='a1']").get_attribute("data-state")


def test_an_async_team_recovers_a_crash_and_forks_from_a_past_slice(page, jupyterlab, screenshots) -> None:
    open_and_run_all(page, jupyterlab, jupyterlab.write("async_fork.ipynb", CELL))
    wait_idle(page)
    _slice(page, 4)
    started = time.perf_counter()
    assert _a1(page) == "crashed"
    assert not page.locator(".ltl-fork").is_disabled()
    page.click(".ltl-fault-log .ltl-end-recover")  # end the crash: the run is re-executed up to slice 4
    page.wait_for_function("() => document.querySelector('.ltl-fault-log').textContent.includes('recovered')",
                           timeout=15_000)
    _slice(page, 4)
    assert "from slice 2 to 4" in page.locator(".ltl-fault-log").text_content(), "the crash now ends with slice 4"
    page.click(".ltl-step")
    _slice(page, 5)
    page.click(".ltl-step")
    _slice(page, 6)
    assert _a1(page) != "crashed", "a1 is back"
    page.locator(".ltl-lab").screenshot(path=str(screenshots / "async_recovered.png"))

    scrub = page.locator(".ltl-scrubber-range")
    scrub.focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    _slice(page, 6, shown=2)
    assert _a1(page) == "crashed", "slice 2 as it was: a1 down"
    page.click(".ltl-fork")
    _slice(page, 2)
    page.click(".ltl-step")
    _slice(page, 3)
    assert "fork 1 @ slice 2" in status(page)["text"]
    options = page.eval_on_selector(".ltl-timeline select",
                                    "s => [...s.options].map(o => o.textContent.replace(/\\s/g, ' '))")
    assert options == ["run", "current run"], options
    page.wait_for_timeout(500)  # the last message animation lands
    page.locator(".ltl-lab").screenshot(path=str(screenshots / "async_forked.png"))
    page.select_option(".ltl-timeline select", label="run")  # the old timeline is still there, to compare
    page.wait_for_function("() => document.querySelector('.ltl-graph').dataset.round === '6'", timeout=10_000)
    assert page.errors == [], page.errors
    _record(screenshots, "async_recover_and_fork_from_the_page_s", time.perf_counter() - started)


def _record(screenshots, key: str, value: float) -> None:
    """The time a user waits, for the record (never asserted)."""
    path = screenshots / "timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = round(value, 3)
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
