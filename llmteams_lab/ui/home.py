"""The lab's home loop: widget callbacks run on the event loop the lab lives on.

Why: JupyterLab ≥ 4.4 with ipykernel ≥ 7 sends widget messages to a kernel *subshell*
by default (the ``commsOverSubshells`` setting, "one subshell per comm target"), so a
click, a scrubber move or a view's painted-frame acknowledgement is handled on another
thread — with its own asyncio loop — while Play runs on the kernel's main loop. Measured
on a 20-agent team: the acknowledgements redrew the plots on the subshell thread while
the Play loop added rounds on the main one (two threads in one redraw, each slowing the
other through the GIL), a Play or Step clicked there started its task on the subshell's
loop, and a Pause cancelled a task of another thread's loop (``Task.cancel`` is not
thread-safe). :class:`HomeLoop` remembers the loop and thread a lab was built on and
hands every callback arriving on another thread to that loop
(``call_soon_threadsafe``), so the lab's state is only ever touched by one thread, in
the order the messages came — and the main loop wakes at once to handle it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable

__all__ = ["HomeLoop"]


class HomeLoop:
    """The running loop and thread at construction (none outside a loop: then callbacks
    run where they are called, as in a plain script)."""

    def __init__(self) -> None:
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        self.thread = threading.get_ident()

    @property
    def here(self) -> bool:
        """Whether the caller is on the home thread (or there is no home loop to go to)."""
        return self.loop is None or threading.get_ident() == self.thread or self.loop.is_closed()

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` now if on the home thread, else soon on the home loop."""
        if self.here:
            fn(*args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)  # type: ignore[union-attr]

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """``fn`` as a callback that always runs on the home loop (see :meth:`call`)."""
        def on_home(*args: Any) -> None:
            self.call(fn, *args)
        return on_home
