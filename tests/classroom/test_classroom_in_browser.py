"""A lesson as a classroom app: ``llmteams-lab classroom`` serves it with Voilà, headless
Chromium opens it like a student would, sees no code, and steps and plays its lab.

The page must ask no other machine for anything (every request is checked), the lab's
buttons must drive the run on the Voilà kernel's loop (Step, then Play to the end), and
SIGTERM must stop the server and its kernel. A screenshot is saved to
``test-output/browser/classroom.png``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.jlab import _free_port, chromium_browser, status

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "browser"


def _wait_up(port: int, proc: subprocess.Popen, log: Path, timeout_s: float = 30.0) -> None:
    """Until the server accepts connections (a GET of the page would start a kernel)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"classroom exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"classroom did not answer in {timeout_s} s:\n{log.read_text()[-3000:]}")


def test_a_lesson_runs_as_an_app_and_its_lab_steps_and_plays(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "classroom.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
           "PYTHONWARNINGS": "ignore", "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llmteams_lab.cli", "classroom", "01_quickstart",
                                 "--port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_up(port, proc, log)
        outside: list[str] = []
        with chromium_browser() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))

            def only_here(route) -> None:
                if route.request.url.startswith((url, "blob:", "data:")):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_here)
            page.goto(url, timeout=30_000)
            page.wait_for_selector(".ltl-graph .ltl-node", timeout=30_000)
            page.wait_for_function("() => +document.querySelector('.ltl-status-line').dataset.round === 2",
                                   timeout=10_000)  # the lesson itself steps twice
            text = page.locator("body").text_content()
            page.click(".ltl-step")
            page.wait_for_function("() => +document.querySelector('.ltl-status-line').dataset.round === 3",
                                   timeout=10_000)
            page.click(".ltl-play")
            page.wait_for_function("() => document.querySelector('.ltl-status-line').dataset.state === 'finished'",
                                   timeout=20_000)
            final = status(page)
            nodes = page.locator(".ltl-graph .ltl-node").count()
            OUTPUT.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUTPUT / "classroom.png"), full_page=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert outside == [], f"the app asked other machines for {outside}"
    assert errors == [], errors
    assert "Quickstart: build a team" in text and "team decision" in text  # prose and outputs shown ...
    assert "from llmteams_lab" not in text and "lab.inject(" not in text  # ... code hidden
    assert nodes == 7 and final["round"] > 3 and ("consensus" in final["text"] or "max_rounds" in final["text"])
    assert code == 0 and "Kernel shutdown" in log.read_text(), log.read_text()[-2000:]
