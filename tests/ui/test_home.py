"""The lab's home loop: widget callbacks that arrive on another thread (a kernel subshell,
as JupyterLab ≥ 4.4 sends them) run on the loop the lab was built on, in order."""

from __future__ import annotations

import asyncio
import math
import threading

from llmteams_lab import team
from llmteams_lab.ui import Lab
from llmteams_lab.ui.home import HomeLoop
from tests.support import aio, no_stop
from tests.ui.helpers import until


def _from_another_thread(fn, *args) -> None:
    worker = threading.Thread(target=fn, args=args)
    worker.start()
    worker.join()


@aio
async def test_a_call_from_another_thread_runs_on_the_home_loop_in_order():
    home, seen = HomeLoop(), []
    record = home.wrap(lambda label: seen.append((label, threading.get_ident())))
    _from_another_thread(lambda: [record("first"), record("second")])
    assert seen == [], "queued for the home loop, not run on the calling thread"
    await until(lambda: len(seen) == 2)
    assert seen == [("first", home.thread), ("second", home.thread)]
    record("here")
    assert seen[-1] == ("here", home.thread), "on the home thread: at once"


def test_outside_a_loop_callbacks_run_where_they_are_called():
    home, seen = HomeLoop(), []
    assert home.loop is None
    _from_another_thread(home.wrap(lambda: seen.append(threading.get_ident())))
    assert len(seen) == 1 and seen[0] != home.thread


@aio
async def test_play_and_pause_clicked_on_another_thread_act_on_the_labs_loop():
    lab = Lab(no_stop(team(5, seed=3, max_rounds=500)), speed=math.inf)
    loop = asyncio.get_running_loop()
    _from_another_thread(lab.controls.play.click)  # what a subshell thread does with a click
    await until(lambda: lab.controller.round >= 3)
    assert lab.controller._task.get_loop() is loop, "Play runs on the lab's loop, not the clicking thread's"
    _from_another_thread(lab.controls.play.click)  # Pause
    await until(lambda: not lab.controller.playing)
    stopped = lab.controller.round
    await asyncio.sleep(0.05)
    assert lab.controller.round == stopped and lab.controller.state == "idle"
    assert f"data-round='{stopped}'" in lab.controls.status.value and lab.errors.messages == []
