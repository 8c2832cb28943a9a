"""Step, Play/Pause with a speed slider, Reset, the round scrubber and the status line.

Only widgets here; what they do is wired by :class:`~llmteams_lab.ui.lab.Lab` to the
controller. :meth:`Controls.sync` enables exactly the controls that are safe in the
controller's state: nothing that starts a round while one is in flight, no Reset while
playing, no Step/Play once the run has ended or failed (Reset is the way on).
"""

from __future__ import annotations

import math

import ipywidgets as w

__all__ = ["Controls", "SPEEDS"]

SPEEDS: tuple[tuple[str, float], ...] = (("0.5", 0.5), ("1", 1.0), ("2", 2.0), ("5", 5.0), ("10", 10.0),
                                         ("20", 20.0), ("50", 50.0), ("max", math.inf))


class Controls(w.VBox):
    """The lab's control row and status line."""

    def __init__(self, speed: float = 5.0) -> None:
        self.step = self._button("Step", "ltl-step", "step-forward", "run one round")
        self.play = self._button("Play", "ltl-play", "play", "play rounds until Pause or the end")
        self.reset = self._button("Reset", "ltl-reset", "undo", "rebuild the run from the current spec")
        labels = [label for label, _ in SPEEDS]
        start = min(SPEEDS, key=lambda s: abs(s[1] - speed) if math.isfinite(speed) else -s[1])[0]
        self.speed = w.SelectionSlider(options=labels, value=start, description="rounds/s",
                                       layout=w.Layout(width="260px"))
        self.speed.add_class("ltl-speed")
        self.scrubber = w.IntSlider(0, min=0, max=0, description="round", continuous_update=True,
                                    layout=w.Layout(width="340px"))
        self.scrubber.add_class("ltl-scrubber")
        self.status = w.HTML()
        self.status.add_class("ltl-status")
        super().__init__(children=[w.HBox([self.step, self.play, self.reset, self.speed]),
                                   w.HBox([self.scrubber]), self.status])
        self.add_class("ltl-controls")

    @staticmethod
    def _button(label: str, css: str, icon: str, tooltip: str) -> w.Button:
        button = w.Button(description=label, icon=icon, tooltip=tooltip, layout=w.Layout(width="90px"))
        button.add_class(css)
        return button

    @property
    def rounds_per_second(self) -> float:
        return dict(SPEEDS)[self.speed.value]

    def sync(self, state: str, done: bool, playing: bool) -> None:
        """Enable what is safe in controller ``state``; Play turns into Pause while playing."""
        busy = state in ("stepping", "resetting") or playing
        self.step.disabled = busy or done
        self.play.disabled = state in ("stepping", "resetting") or (done and not playing)
        self.play.description, self.play.icon = ("Pause", "pause") if playing else ("Play", "play")
        self.play.button_style = "warning" if playing else ""
        self.reset.disabled = busy
