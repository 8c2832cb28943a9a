"""Step, Play/Pause with a speed slider, Reset, the round scrubber, forks and the status line.

Only widgets here; what they do is wired by :class:`~llmteams_lab.ui.lab.Lab` to the
controller. :meth:`Controls.sync` enables exactly the controls that are safe in the
controller's state: nothing that starts a round while one is in flight, no Reset or
fork while playing, no Step/Play once the run has ended or failed (Reset is the way on).

The fork row continues the team from the round on screen as a new live run ("Fork from
here", optionally with another seed); the timeline menu shows an earlier timeline kept
after a fork, to scrub and compare.
"""

from __future__ import annotations

import math

import ipywidgets as w

from llmteams_lab.ui.scrubber import RoundScrubber

__all__ = ["Controls", "SPEEDS"]

SPEEDS: tuple[tuple[str, float], ...] = (("0.5", 0.5), ("1", 1.0), ("2", 2.0), ("5", 5.0), ("10", 10.0),
                                         ("20", 20.0), ("50", 50.0), ("max", math.inf))
CURRENT = "current run"


class Controls(w.VBox):
    """The lab's control rows and status line."""

    def __init__(self, speed: float = 5.0) -> None:
        self.step = self._button("Step", "ltl-step", "step-forward", "run one round (key: →)")
        self.play = self._button("Play", "ltl-play", "play", "play rounds until Pause or the end (key: space)")
        self.reset = self._button("Reset", "ltl-reset", "undo", "rebuild the run from the builder's spec")
        # asynchronous teams only (shown by the lab): one happening instead of a whole slice
        self.happening = self._button("Happening", "ltl-happening", "angle-right",
                                      "process only the next happening — an arrival, a turn, a reply, a timer")
        self.happening.layout.width, self.happening.layout.display = "115px", "none"
        labels = [label for label, _ in SPEEDS]
        start = min(SPEEDS, key=lambda s: abs(s[1] - speed) if math.isfinite(speed) else -s[1])[0]
        self.speed = w.SelectionSlider(options=labels, value=start, description="rounds/s",
                                       layout=w.Layout(width="250px"))
        self.speed.add_class("ltl-speed")
        self.scrubber = RoundScrubber()
        self.scrubber.add_class("ltl-scrubber")
        self.fork = self._button("Fork from here", "ltl-fork", "code-fork",
                                 "continue the team from the round on screen as a new run; this timeline is kept")
        self.fork.layout.width = "140px"
        self.fork_seed = w.IntText(0, description="fork seed", layout=w.Layout(width="150px"),
                                   style={"description_width": "62px"},
                                   tooltip="seed of the fork's draws after the fork round")
        self.fork_seed.add_class("ltl-fork-seed")
        self.timeline = w.Dropdown(options=[CURRENT], value=CURRENT, description="timeline",
                                   layout=w.Layout(width="260px", display="none"), style={"description_width": "60px"})
        self.timeline.add_class("ltl-timeline")
        self.status = w.HTML()
        self.status.add_class("ltl-status")
        self.note = w.HTML()
        self.note.add_class("ltl-logging-note")
        buttons = w.HBox([self.step, self.happening, self.play, self.reset, self.speed])
        buttons.add_class("ltl-control-row")
        history = w.HBox([self.scrubber, self.fork, self.fork_seed, self.timeline])
        history.add_class("ltl-control-row")
        super().__init__(children=[buttons, history, self.status, self.note])
        self.add_class("ltl-controls")

    @staticmethod
    def _button(label: str, css: str, icon: str, tooltip: str) -> w.Button:
        button = w.Button(description=label, icon=icon, tooltip=tooltip, layout=w.Layout(width="90px"))
        button.add_class(css)
        return button

    def use_slices(self, asynchronous: bool) -> None:
        """Label the controls for an asynchronous team (slices of virtual time) or rounds."""
        unit = "slice" if asynchronous else "round"
        self.step.tooltip = f"run one {unit} (key: →)"
        self.play.tooltip = f"play {unit}s until Pause or the end (key: space)"
        self.speed.description = f"{unit}s/s"
        self.happening.layout.display = "" if asynchronous else "none"
        self.scrubber.unit = unit

    @property
    def rounds_per_second(self) -> float:
        return dict(SPEEDS)[self.speed.value]

    def sync(self, state: str, done: bool, playing: bool, *, viewing_past: bool = False,
             can_fork: bool = True) -> None:
        """Enable what is safe in controller ``state``; Play turns into Pause while playing.
        ``viewing_past``: an earlier timeline is on screen (it cannot be forked again);
        ``can_fork``: false for a run that cannot fork (``LabController.can_fork``).
        """
        busy = state in ("stepping", "resetting") or playing
        self.step.disabled = busy or done
        self.happening.disabled = busy or done
        self.play.disabled = state in ("stepping", "resetting") or (done and not playing)
        self.play.description, self.play.icon = ("Pause", "pause") if playing else ("Play", "play")
        self.play.button_style = "warning" if playing else ""
        self.reset.disabled = busy
        self.fork.disabled = busy or viewing_past or not can_fork
