"""Trace I/O: our own event logs as JSONL or parquet, read back in the one schema.

``ParquetSink`` collects events and writes a parquet file when the run closes (parquet
cannot be appended to cheaply; pair it with a ``JsonlSink`` for crash safety).
Readers check the columns and name the file and the missing/unexpected columns.
:func:`replay_trace` steps a saved log with the engine's step semantics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import polars as pl

from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import DatasetError
from llmteams_lab.events import Event, event_from_dict
from llmteams_lab.metrics.frame import SCHEMA, events_frame
from llmteams_lab.runtime.logfile import read_jsonl_rows
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec

_ADDED_LATER = ("cause",)  # columns a log of version 0.1 lacks

__all__ = ["ParquetSink", "read_events", "read_jsonl", "read_parquet", "records_from_frame", "replay_trace",
           "write_parquet"]


class ParquetSink:
    """Writes every event it saw to ``path`` as parquet when closed (each batch is kept
    as a frame built from the store's columns, not as one object per event)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._frames: list[pl.DataFrame] = []

    def write(self, events: Sequence[Event]) -> None:
        self._frames.append(events_frame(events))

    def close(self) -> None:
        frame = pl.concat(self._frames) if self._frames else events_frame([])
        write_parquet(frame, self.path)


def write_parquet(events: Sequence[Event] | pl.DataFrame, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = events if isinstance(events, pl.DataFrame) else events_frame(events)
    frame.write_parquet(path)
    return path


def read_parquet(path: str | os.PathLike) -> pl.DataFrame:
    """An events frame from parquet, checked against the schema."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"no events file at {str(path)!r}")
    return _checked(pl.read_parquet(path), path)


def read_jsonl(path: str | os.PathLike) -> pl.DataFrame:
    """An events frame from JSONL (one event per line), checked against the schema.

    A partial last line — a process killed while writing — is dropped with an
    :class:`~llmteams_lab.runtime.logfile.UnfinishedLogWarning`; every line before it
    is kept (``runtime.logfile``)."""
    path = Path(path)
    rows, _, _ = read_jsonl_rows(path)
    if not rows:
        return pl.DataFrame(schema=SCHEMA)
    missing = sorted(set(SCHEMA) - set(rows[0]) - set(_ADDED_LATER))
    if missing:
        raise DatasetError(f"{path}: missing columns {missing}; expected {list(SCHEMA)}")
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def read_events(path: str | os.PathLike) -> pl.DataFrame:
    """Read a log by extension (.jsonl or .parquet)."""
    suffix = Path(path).suffix
    if suffix == ".parquet":
        return read_parquet(path)
    if suffix in (".jsonl", ".json", ".ndjson"):
        return read_jsonl(path)
    raise DatasetError(f"{str(path)!r}: expected a .jsonl or .parquet events file")


def records_from_frame(frame: pl.DataFrame) -> list[Event]:
    """Typed events back from a frame (for replay and re-checking)."""
    return [event_from_dict(row) for row in frame.iter_rows(named=True)]


def _checked(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    for name in _ADDED_LATER:  # logs written before a column existed read back with it empty
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=SCHEMA[name]).alias(name))
    missing = sorted(set(SCHEMA) - set(frame.columns))
    extra = sorted(set(frame.columns) - set(SCHEMA))
    if missing or extra:
        raise DatasetError(f"{path}: unexpected columns (missing {missing}, unexpected {extra}); "
                           f"expected {list(SCHEMA)}")
    return frame.select(list(SCHEMA)).cast(SCHEMA)  # type: ignore[arg-type]


def replay_trace(source: str | os.PathLike | pl.DataFrame, *, run_id: str | None = None,
                 spec: TeamSpec | None = None, sinks: Sequence[Sink] = ()) -> ReplayRun:
    """A :class:`ReplayRun` over a saved log (``.jsonl``/``.parquet`` path or an events
    frame). A log holding several runs needs ``run_id``; the spec comes from the log's
    ``RunStarted`` unless given (it is needed only to fork)."""
    frame = source if isinstance(source, pl.DataFrame) else read_events(source)
    if run_id is not None:
        frame = frame.filter(pl.col("run_id") == run_id)
        if frame.is_empty():
            raise DatasetError(f"run_id {run_id!r} is not in the trace")
    return ReplayRun(records_from_frame(frame), spec=spec, sinks=sinks, run_id=run_id)
