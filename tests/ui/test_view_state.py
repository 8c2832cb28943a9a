"""The lab's view state: every transition between live and history, and flow control."""

from __future__ import annotations

import pytest

from llmteams_lab.ui.view_state import ViewState


def test_scrubbing_back_detaches_and_scrubbing_to_the_end_reattaches():
    v = ViewState()
    assert v.live and v.shown(5) == 5
    assert v.scrub(2, latest=5) is False and v.shown(5) == 2
    assert v.shown(9) == 2, "new rounds never move a detached view"
    assert v.scrub(9, latest=9) is True and v.shown(9) == 9


def test_step_play_or_back_to_live_reattach_and_owe_a_frame():
    v = ViewState()
    v.scrub(1, latest=4)
    v.dirty = False
    v.go_live()
    assert v.live and v.dirty and v.shown(4) == 4


def test_scrubbing_past_the_end_is_clamped():
    v = ViewState()
    assert v.scrub(12, latest=3) is True and v.viewing == 3


def test_frames_wait_for_the_browser_unless_forced():
    v = ViewState()
    assert v.take_frame(1.0, caught_up=True, force=False) is False, "nothing to draw"
    v.round_arrived()
    v.round_arrived()
    assert v.ahead == 2
    assert v.take_frame(1.0, caught_up=False, force=False) is False and v.dirty, "one frame in flight at a time"
    assert v.take_frame(2.0, caught_up=False, force=True) is True
    assert not v.dirty and v.ahead == 0 and v.framed_at == 2.0


def test_play_holds_only_for_a_frame_in_flight_longer_than_the_lag_bound():
    v = ViewState()
    v.round_arrived()
    assert v.take_frame(10.0, caught_up=True, force=False)
    assert not v.must_wait(10.5, 1.0, caught_up=False), "nothing waiting to be shown"
    v.round_arrived()
    assert not v.must_wait(10.5, 1.0, caught_up=False), "the browser is drawing: Play goes on"
    assert v.must_wait(11.0, 1.0, caught_up=False), "the frame has been in flight for the whole bound"
    assert not v.must_wait(11.0, 1.0, caught_up=True), "painted: the next frame goes out, no hold"
    v.waited(11.5)
    assert not v.must_wait(12.0, 1.0, caught_up=False), "after a bounded wait Play runs another lag"
    assert v.must_wait(12.5, 1.0, caught_up=False)


def test_plots_are_redrawn_at_a_bounded_rate_while_playing_and_owed_when_play_stops():
    v = ViewState(plot_interval=0.5)
    assert v.plots_due(10.0, playing=True, force=False)
    assert not v.plots_due(10.2, playing=True, force=False) and v.plots_behind
    assert v.plots_due(10.6, playing=True, force=False) and not v.plots_behind
    v.plots_due(10.7, playing=True, force=False)
    v.dirty = False
    v.stopped()
    assert v.dirty, "the skipped redraw is drawn once play stops"
    assert v.plots_due(10.8, playing=False, force=False)


def test_plots_slow_to_draw_are_redrawn_less_often_while_playing():
    v = ViewState(plot_interval=0.5, plot_share=0.25)
    assert v.plots_due(10.0, playing=True, force=False) and v.plots_sent == 10.0
    v.plots_drawn(10.8)  # the page took 0.8 s to draw them
    assert v.plot_cost == pytest.approx(0.8) and v.plots_sent is None
    assert not v.plots_due(11.0, playing=True, force=False), "0.5 s is not enough for an 0.8 s redraw"
    assert not v.plots_due(13.1, playing=True, force=False)
    assert v.plots_due(13.3, playing=True, force=False), "3.2 s after the last: a quarter of the page's time"
    assert v.plots_due(13.4, playing=False, force=False), "a stopped lab redraws at once"
    assert v.plots_sent == 13.3, "the cost is timed from the first redraw not yet drawn"
    v.plots_drawn(13.4)
    assert v.plot_cost == pytest.approx(0.1)
    assert v.plots_due(13.95, playing=True, force=False), "a fast page: the floor (0.1 / 0.25 < 0.5 s)"


def test_the_round_counter_is_sent_between_frames_at_a_bounded_rate():
    v = ViewState()
    v.round_arrived()
    assert v.take_frame(5.0, caught_up=True, force=False)
    assert not v.counter_due(5.1, 0.25), "a frame just carried the counter"
    assert v.counter_due(5.3, 0.25) and not v.counter_due(5.4, 0.25) and v.counter_due(5.56, 0.25)


def test_reset_returns_to_live_with_nothing_pending():
    v = ViewState()
    v.scrub(1, latest=3)
    v.round_arrived()
    v.reset()
    assert v == ViewState()
