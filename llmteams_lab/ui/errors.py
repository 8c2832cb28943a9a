"""The error panel: where every exception from a callback or a background task lands.

JupyterLab swallows exceptions raised in widget callbacks (they go to the kernel log)
and in tasks started from them, so a lab that just raised would look frozen. The
controller reports every such exception here instead: the type and message in plain
sight, the traceback folded underneath. Nothing but the exception is rendered, and our
errors never carry secrets (API keys are never put in messages).
"""

from __future__ import annotations

import traceback
from html import escape

import ipywidgets as w

__all__ = ["ErrorPanel", "error_html"]

MAX_SHOWN = 5


def error_html(err: BaseException) -> str:
    """One error as HTML: ``Type: message`` and a folded traceback."""
    name = type(err).__name__
    message = str(err) or repr(err)
    frames = "".join(traceback.format_exception(type(err), err, err.__traceback__, limit=8))
    return (f"<div class='ltl-error'><b>{escape(name)}</b>: {escape(message)}"
            f"<details><summary>traceback</summary><pre>{escape(frames)}</pre></details></div>")


class ErrorPanel(w.VBox):
    """Shows the latest errors (newest first) with a button to dismiss them."""

    def __init__(self) -> None:
        self.html = w.HTML()
        self.clear_button = w.Button(description="dismiss", button_style="", layout=w.Layout(width="80px"))
        self.clear_button.add_class("ltl-dismiss")
        self.clear_button.on_click(lambda _: self.clear())
        self.shown: list[BaseException] = []
        super().__init__(children=[self.html, self.clear_button], layout=w.Layout(display="none"))
        self.add_class("ltl-error-panel")

    def show(self, err: BaseException) -> None:
        self.shown = [err, *self.shown][:MAX_SHOWN]
        self.html.value = "".join(error_html(e) for e in self.shown)
        self.layout.display = "flex"

    def clear(self) -> None:
        self.shown = []
        self.html.value = ""
        self.layout.display = "none"

    @property
    def messages(self) -> list[str]:
        """``Type: message`` of every error shown (newest first)."""
        return [f"{type(e).__name__}: {e}" for e in self.shown]
