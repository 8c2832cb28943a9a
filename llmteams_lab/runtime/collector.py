"""An opt-in pause of CPython's cyclic garbage collector around rounds.

The collector belongs to the interpreter, not to a library: by default a run never
touches it. A benchmark, a sweep worker or a script that owns its process may opt in —
``Run(spec, pause_gc=True)`` or ``with paused_collector(): ...`` around its own loop —
and take the trade-off knowingly:

* the gain: events live in a columnar store the collector never sees, but a round
  still allocates many short-lived container objects — most of all the inbox
  :class:`~llmteams_lab.messages.Message` records of per-agent backends (65,000 in a
  256-agent all-to-all round); with the collector on, those allocations trigger
  collections that trace the whole heap (bench/engine_overhead.py: ~1.5× at n = 256);
* the cost: while paused, *every* task of the process allocates without cyclic
  collection — a pause around an awaited round lasts as long as its slowest model call,
  and cycles made meanwhile wait for the next collection after it.

Pauses nest and overlap safely (two runs stepping at once): the collector is disabled
when the first pause begins and enabled again only when the last one ends, and only if
it was enabled before.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator

__all__ = ["paused_collector"]

_lock = threading.Lock()
_depth = 0  # pauses in progress (this module's own state: it exists only while someone opted in)
_was_enabled = False


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """Pause the cyclic collector for the block (nesting and overlapping safely)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
