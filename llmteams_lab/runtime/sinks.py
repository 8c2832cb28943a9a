"""Where events go. The engine hands each sink a whole round of events at once.

Sinks: :class:`MemorySink` (a list), :class:`JsonlSink` (appends and flushes every
round, so a crashed kernel loses at most the round in flight), :class:`CallbackSink`
(live figures and widgets). Parquet on close lives in ``datasets.traces`` because it
needs polars, which sits lower on the import ladder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from llmteams_lab.events import Event

__all__ = ["CallbackSink", "JsonlSink", "MemorySink", "Sink"]

_BULK = 2_048  # events in a batch from which encoding it with polars pays (measured: bench/jsonl_sink.py)


class Sink(Protocol):
    def write(self, events: Sequence[Event]) -> None: ...

    def close(self) -> None: ...


class MemorySink:
    """Keeps every event in ``events``."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def write(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def close(self) -> None:
        return None


class JsonlSink:
    """Appends one JSON object per event to ``path``; flushed (and fsync'd) per write.

    A batch of many events from a run's columnar store is encoded at once with polars
    and written by it straight to the file (``datasets.jsonl``: per-kind templates, the
    same bytes as ``Event.to_json``, over a million events per second); small batches
    one event at a time (no polars import for small runs). The file is opened in binary
    append mode, so both paths write UTF-8 bytes to the same handle."""

    def __init__(self, path: str | os.PathLike, *, fsync: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab")
        self._fsync = fsync

    def write(self, events: Sequence[Event]) -> None:
        if len(events) >= _BULK and hasattr(events, "columns") and hasattr(events, "store"):
            from llmteams_lab.datasets.jsonl import (
                write_columns,  # lazy: polars, level 7
            )

            write_columns(events.store, events.columns(), getattr(events, "start", 0), self._file)
        else:
            self._file.write("".join(e.to_json() + "\n" for e in events).encode("utf-8"))
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class CallbackSink:
    """Calls ``fn(events)`` with each round's events (used by live plots and widgets)."""

    def __init__(self, fn: Callable[[Sequence[Event]], None]):
        self.fn = fn

    def write(self, events: Sequence[Event]) -> None:
        self.fn(events)

    def close(self) -> None:
        return None
