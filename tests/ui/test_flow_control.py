"""Flow control between the kernel and the browser: nothing piles up, nothing is lost.

A view says hello when it renders and acknowledges each painted frame; the tests play
that part by sending the same messages the front end sends.
"""

from __future__ import annotations

import asyncio
import math

import llmteams_lab.ui.lab as lab_module
from llmteams_lab import team
from llmteams_lab.ui import Lab
from tests.support import aio, no_stop
from tests.ui.helpers import until


def _view_says(lab: Lab, message: dict) -> None:
    lab.graph._from_view(lab.graph, message, [])  # what a comm message from the browser calls


def _lab(rounds: int = 200) -> Lab:
    return Lab(no_stop(team(5, seed=3, max_rounds=rounds)), speed=math.inf)


@aio
async def test_play_waits_for_a_view_that_has_not_painted_and_catches_up_in_one_frame():
    lab = _lab()
    _view_says(lab, {"type": "view"})
    lab.play()
    await until(lambda: lab.controller.round >= lab_module.MAX_AHEAD + 1)
    await asyncio.sleep(0.2)
    held = lab.controller.round
    assert held == lab_module.MAX_AHEAD + 1, "Play is held while the browser is behind"
    assert lab.graph.round == 1 and not lab.graph.caught_up
    _view_says(lab, {"type": "painted", "frame": lab.graph.frame})
    await until(lambda: lab.controller.round > held)
    assert lab.graph.round >= held, "the acknowledgement brings the view up to date at once"
    lab.pause()
    await lab.wait()
    assert lab.graph.round == lab.controller.round
    assert lab.figures.rounds == list(range(1, lab.controller.round + 1)), "no round lost"


@aio
async def test_a_view_that_never_answers_only_slows_play_down(monkeypatch):
    monkeypatch.setattr(lab_module, "PACE_TIMEOUT_S", 0.02)
    lab = _lab(rounds=40)
    _view_says(lab, {"type": "view"})  # e.g. a tab closed without a goodbye
    lab.play()
    await lab.wait()
    assert lab.controller.state == "finished" and lab.controller.round == 40
    assert lab.figures.rounds == list(range(1, 41)) and lab.graph.round == 40


@aio
async def test_a_new_view_counts_as_caught_up_and_stale_acknowledgements_are_ignored():
    lab = _lab()
    await lab.step()
    _view_says(lab, {"type": "view"})
    assert lab.graph.caught_up and lab.graph.views == 1
    frame = lab.graph.frame
    await lab.step()  # rendered at once (a step that ends shows its round)
    assert lab.graph.frame == frame + 1 and not lab.graph.caught_up
    _view_says(lab, {"type": "painted", "frame": frame - 5})
    _view_says(lab, {"type": "something else"})
    assert not lab.graph.caught_up
    _view_says(lab, {"type": "painted", "frame": frame + 1})
    assert lab.graph.caught_up


@aio
async def test_plots_are_redrawn_at_a_bounded_rate_while_playing(monkeypatch):
    monkeypatch.setattr(lab_module, "PLOT_INTERVAL_S", 3600.0)
    lab = _lab(rounds=30)
    await lab.step()
    assert lab.figures.rounds == [1]
    lab.play()
    await until(lambda: lab.controller.round >= 10)
    assert lab.figures.rounds == [1], "no redraw within the interval while playing"
    assert lab.graph.round == lab.controller.round, "the graph still follows every round"
    await lab.wait()
    assert lab.figures.rounds == list(range(1, 31)), "the end of Play redraws with every point"
