"""An opt-in pause of CPython's cyclic garbage collector around rounds.

The collector belongs to the interpreter, not to a library: by default a run never
touches it. A benchmark, a sweep worker or a script that owns its process may opt in —
``Run(spec, pause_gc=True)`` or ``with paused_collector(): ...`` around its own loop —
and take the trade-off knowingly:

* the gain: a round with per-message logging allocates tens of thousands of
  short-lived, acyclic records (one event per message); with the collector on, those
  allocations trigger full scans of the whole heap every few rounds — more than the
  round's own work for a 64-agent all-to-all team (bench/engine_overhead.py);
* the cost: while paused, *every* task of the process allocates without cyclic
  collection — a pause around an awaited round lasts as long as its slowest model call.

Pauses nest and overlap safely (two runs stepping at once): the collector is disabled
when the first pause begins and enabled again only when the last one ends, and only if
it was enabled before. When a pause ends and nearly all young objects are new log
records, they are moved straight into the oldest generation (``gc.freeze()`` then
``gc.unfreeze()``: two list splices, no tracing) — otherwise resuming would make CPython
trace all of them twice more to find nothing. Nothing is moved when the application
froze objects itself (``unfreeze`` would thaw them) or when few records were logged.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import Callable, Iterator

__all__ = ["paused_collector", "resume_gc"]

_MIN_RECORDS = 1_000  # fewer new records: leave the young collection to CPython
_SHARE = 0.9  # new records must be at least this share of the young generation

_lock = threading.Lock()
_depth = 0  # pauses in progress (this module's own state: it exists only while someone opted in)
_was_enabled = False


def resume_gc(new_records: int) -> None:
    """Re-enable the collector after a pause in which ``new_records`` log records were
    made, first moving the young generation to the oldest one when that is nearly all of
    it (see the module docstring). Call only if the collector was enabled before."""
    young = gc.get_count()[0]  # tracked objects allocated (net) since the last collection
    if new_records >= _MIN_RECORDS and young * _SHARE <= new_records and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
    gc.enable()


@contextlib.contextmanager
def paused_collector(records: Callable[[], int] | None = None) -> Iterator[None]:
    """Pause the cyclic collector for the block (nesting and overlapping safely).

    ``records()`` counts the log records made so far; the records made during the
    outermost pause decide whether the young generation moves to the oldest one."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    before = records() if records is not None else 0
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                resume_gc((records() if records is not None else 0) - before)
