"""The round scrubber: a native range input, the live/history badge, and the lab's keys.

Why not ipywidgets' ``IntSlider``: its keyboard handling jumped to round 0 on End and it
cannot say whether the view is detached. Here the browser's own range input handles
Home/End/←/→, the badge reads "● live" or "viewing round k — back to live", and the
front end (``widgets/round_scrubber.js``) also listens for the lab's keyboard shortcuts
(space = Play/Pause, → = Step, never while typing in a field) and reports them.
"""

from __future__ import annotations

from typing import Any, Callable

import anywidget
import traitlets as t

from llmteams_lab.ui._assets import asset

__all__ = ["RoundScrubber"]


class RoundScrubber(anywidget.AnyWidget):
    """``value`` is the round shown, ``max`` the latest round, ``live`` whether following."""

    _esm = asset("round_scrubber.js")
    _css = asset("round_scrubber.css")

    value = t.Int(0).tag(sync=True)
    max = t.Int(0).tag(sync=True)
    live = t.Bool(True).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_key: list[Callable[[str], None]] = []
        self._on_live: list[Callable[[], None]] = []
        self.on_msg(self._from_view)

    def on_key(self, fn: Callable[[str], None]) -> None:
        """Call ``fn(action)`` for a shortcut pressed in the page: ``"play"`` or ``"step"``."""
        self._on_key.append(fn)

    def on_live(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` when "back to live" is clicked."""
        self._on_live.append(fn)

    def _from_view(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "key" and content.get("action") in ("play", "step"):
            for fn in list(self._on_key):
                fn(content["action"])
        elif content.get("type") == "live":
            for fn in list(self._on_live):
                fn()
