"""What the lab's views show — the live round or a past one — and what is waiting to be drawn.

Why a state object: the lab has two questions to answer on every event, and answering
them with loose flags let the views drift apart (the status said round 7 while the graph
and table stayed at round 4, and nothing said the view was detached):

* **live or history.** While *live*, every view follows the latest round. Scrubbing to a
  past round *detaches* them (``viewing`` is that round; the lab shows "viewing round k —
  back to live"); Step, Play and "back to live" re-attach them. New rounds never move a
  detached view.
* **flow control (coalescing).** Rounds may arrive faster than the browser draws (Play at
  full speed). A round marks the views ``dirty`` (``ahead`` counts the rounds not shown);
  at most one frame is in flight: the views are brought up to the *latest* round when the
  browser has painted the previous frame, the rounds in between are folded into it (never
  drawn on their own, never lost: the plots get every point). Play itself does not wait
  for the browser — holding it back by a number of rounds tied the rounds per second to
  the browser's frames per second (~2 on a shared 2-core machine, so ~20 rounds/s) —
  except when the frame in flight has been waiting ``max_lag`` seconds (a browser that has
  stalled: the engine should not run far past what anyone saw). The plots, the costliest
  views, are redrawn at most every ``plot_interval`` seconds while playing — and no more
  often than ``plot_share`` of the page's time allows: a redraw the page took ``plot_cost``
  seconds to draw waits ``plot_cost / plot_share`` before the next (plotly needed 0.1–1 s a
  figure on a shared 2-core machine under load, and a Pause arriving meanwhile waits for it)
  — ``plots_behind`` remembers a skipped redraw, and play stopping always redraws.

Every transition is a method, so each one has a test (``tests/ui/test_view_state.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ViewState"]


@dataclass
class ViewState:
    """Live/history and redraw bookkeeping of one lab (see the module docstring)."""

    live: bool = True
    viewing: int = 0  # the round shown while detached
    dirty: bool = False  # a round arrived that the views do not show yet
    ahead: int = 0  # rounds computed since the views last caught up
    framed_at: float = -math.inf  # when the last frame was sent (monotonic seconds)
    counted_at: float = -math.inf  # when the round counter (status line, scrubber) was last sent
    plots_behind: bool = False  # a plot redraw was skipped while playing
    plotted_at: float = -math.inf  # when the plots were last redrawn (monotonic seconds)
    plot_interval: float = 0.5
    plot_share: float = 0.3  # at most this share of the page's time on plot redraws while playing
    plot_cost: float = 0.0  # seconds the page took to draw the last plot redraw (sent → drawn)
    plots_sent: float | None = None  # when the redraw in flight was sent

    # --- live vs history ----------------------------------------------------------------
    def scrub(self, round: int, latest: int) -> bool:
        """The user moved the scrubber to ``round``; returns whether the views are live."""
        self.live = round >= latest
        self.viewing = min(round, latest)
        return self.live

    def go_live(self) -> None:
        """Step, Play or "back to live": follow the latest round again."""
        self.live = True
        self.dirty = True

    def shown(self, latest: int) -> int:
        """The round the views should show."""
        return latest if self.live else min(self.viewing, latest)

    # --- flow control -------------------------------------------------------------------
    def round_arrived(self) -> None:
        self.dirty = True
        self.ahead += 1

    def must_wait(self, now: float, max_lag: float, caught_up: bool) -> bool:
        """Whether Play should hold: the browser has been drawing the frame in flight for
        ``max_lag`` seconds or more (a stalled or starved page), with rounds waiting."""
        return self.ahead > 0 and not caught_up and now - self.framed_at >= max_lag

    def waited(self, now: float) -> None:
        """Play held as long as it may for the frame in flight: count the lag from ``now``,
        so Play runs another ``max_lag`` before holding again (a closed tab never answers)."""
        self.framed_at = now

    def take_frame(self, now: float, *, caught_up: bool, force: bool) -> bool:
        """Whether to render now (the browser drew the last frame, or ``force``); if so the
        pending rounds count as shown and the new frame is in flight from ``now``."""
        if not self.dirty or not (force or caught_up):
            return False
        self.dirty = False
        self.ahead = 0
        self.framed_at = self.counted_at = now
        return True

    def counter_due(self, now: float, interval: float) -> bool:
        """Whether to send the round counter on its own, between frames: the status line and
        the scrubber name the engine's round (at most every ``interval`` seconds) even while
        the graph still draws an older one — skipped rounds are never *mis*counted."""
        if now - self.counted_at < interval:
            return False
        self.counted_at = now
        return True

    def plots_due(self, now: float, *, playing: bool, force: bool) -> bool:
        """Whether this frame redraws the plots (else they are marked behind)."""
        interval = max(self.plot_interval, self.plot_cost / self.plot_share)
        if force or not playing or now - self.plotted_at >= interval:
            self.plotted_at, self.plots_behind = now, False
            if self.plots_sent is None:
                self.plots_sent = now
            return True
        self.plots_behind = True
        return False

    def plots_drawn(self, now: float) -> None:
        """The page has drawn every plot sent: their cost is the time since they were sent."""
        if self.plots_sent is not None:
            self.plot_cost, self.plots_sent = now - self.plots_sent, None

    def stopped(self) -> None:
        """Play stopped: a skipped plot redraw is owed, so the next frame draws it."""
        if self.plots_behind:
            self.dirty = True

    def reset(self) -> None:
        """A new run: live, nothing pending."""
        self.live, self.viewing, self.dirty, self.ahead = True, 0, False, 0
        self.plots_behind, self.plotted_at, self.framed_at, self.counted_at = False, -math.inf, -math.inf, -math.inf
        self.plots_sent = None  # (plot_cost is the page's, kept across runs)
