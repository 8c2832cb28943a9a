"""Flow control between the kernel and the browser: nothing piles up, nothing is lost.

A view says hello when it renders and acknowledges each painted frame; the tests play
that part by sending the same messages the front end sends.
"""

from __future__ import annotations

import asyncio
import math

import llmteams_lab.ui.rendering as rendering  # the lab's flow-control bounds
from llmteams_lab import team
from llmteams_lab.ui import Lab
from tests.support import aio, no_stop
from tests.ui.helpers import until


def _view_says(lab: Lab, message: dict) -> None:
    lab.graph._from_view(lab.graph, message, [])  # what a comm message from the browser calls


def _lab(rounds: int = 200) -> Lab:
    return Lab(no_stop(team(5, seed=3, max_rounds=rounds)), speed=math.inf)


@aio
async def test_play_coalesces_rounds_while_the_view_draws_and_an_ack_shows_the_latest_round():
    lab = _lab()
    _view_says(lab, {"type": "view"})
    lab.play()
    await until(lambda: lab.controller.round >= 30)  # far more rounds than frames: Play is not held
    frame, shown = lab.graph.frame, lab.graph.round
    assert not lab.graph.caught_up and shown < lab.controller.round
    await until(lambda: lab.controls.scrubber.max > shown + 5)  # the counter follows between frames
    assert f"data-round='{lab.controls.scrubber.max}'" in lab.controls.status.value and lab.graph.frame == frame
    await asyncio.sleep(0.05)
    assert lab.graph.frame == frame, "one frame in flight: nothing more is sent until it is painted"
    _view_says(lab, {"type": "painted", "frame": frame})
    assert lab.graph.frame == frame + 1 and lab.graph.round == lab.controller.round, \
        "the acknowledgement sends the latest round at once, skipping the rounds in between"
    lab.pause()
    await lab.wait()
    assert lab.graph.round == lab.controller.round, "Pause shows the round the engine stopped at"
    assert lab.figures.rounds == list(range(1, lab.controller.round + 1)), "no round lost on the plots"
    status = lab.controls.status.value
    assert f"data-round='{lab.controller.round}'" in status and "data-state='idle'" in status


@aio
async def test_play_holds_only_when_the_frame_in_flight_is_older_than_the_lag_bound(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_LAG_S", 0.1)
    monkeypatch.setattr(rendering, "PACE_TIMEOUT_S", 60.0)
    lab = _lab()
    _view_says(lab, {"type": "view"})
    lab.play()
    await until(lambda: lab.controller.round >= 2)
    await asyncio.sleep(0.4)
    held = lab.controller.round
    await asyncio.sleep(0.2)
    assert lab.controller.round == held and lab.controller.playing, "a stalled page holds Play"
    _view_says(lab, {"type": "painted", "frame": lab.graph.frame})
    await until(lambda: lab.controller.round > held)
    lab.pause()
    await lab.wait()
    assert lab.figures.rounds == list(range(1, lab.controller.round + 1))


@aio
async def test_a_view_that_never_answers_only_slows_play_down(monkeypatch):
    monkeypatch.setattr(rendering, "PACE_TIMEOUT_S", 0.02)
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
    monkeypatch.setattr(rendering, "PLOT_INTERVAL_S", 3600.0)
    lab = _lab(rounds=30)
    await lab.step()
    assert lab.figures.rounds == [1]
    lab.play()
    await until(lambda: lab.controller.round >= 10)
    assert lab.figures.rounds == [1], "no redraw within the interval while playing"
    assert lab.graph.round == lab.controller.round, "the graph still follows every round"
    await lab.wait()
    assert lab.figures.rounds == list(range(1, 31)), "the end of Play redraws with every point"
