"""Resuming CPython's cyclic garbage collector after a round, and where the round's
log records go then.

``Run.step()`` pauses the collector while a round runs (see its docstring). A round
with per-message logging leaves tens of thousands of new, acyclic event records that
live as long as the run. Merely resuming the collector makes CPython trace all of them
twice more: in the young collection that the first allocation after the round
triggers, and again in the next middle-generation collection — about 1.3 ms per round
for a 64-agent all-to-all team, a third of the round, to find nothing.

So when the round's young objects are nearly all new log records, they are moved
straight into the oldest generation (``gc.freeze()`` then ``gc.unfreeze()``: two list
splices, no tracing), which only CPython's full collections trace, on their usual
schedule. What the move costs: cyclic garbage among those young objects — none in a
normal round, and at most a tenth of them by the guard below — is collected by the
next full collection instead of the next young one. Nothing is moved when the
application froze objects itself (``unfreeze`` would thaw them), when it had disabled
the collector, or when the round logged few records (a young collection is cheap then).
"""

from __future__ import annotations

import gc

__all__ = ["resume_gc"]

_MIN_RECORDS = 1_000  # fewer new records: leave the young collection to CPython
_SHARE = 0.9  # new records must be at least this share of the young generation


def resume_gc(new_records: int) -> None:
    """Re-enable the collector after a round that logged ``new_records`` events,
    first moving the young generation to the oldest one when that is nearly all of it
    (see the module docstring). Call only if the collector was enabled before the round."""
    young = gc.get_count()[0]  # tracked objects allocated (net) since the last collection
    if new_records >= _MIN_RECORDS and young * _SHARE <= new_records and gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
    gc.enable()
