"""What an exporter accepts, turned into the one events frame.

Every exporter works on the events frame (:data:`~llmteams_lab.metrics.SCHEMA`), so it
treats a live run, a saved log, a replay and the paper's runs alike. :func:`events_of`
is the one place that knows the shapes a user may hand over.
"""

from __future__ import annotations

import os
from typing import Any

import polars as pl

from llmteams_lab.datasets.traces import read_events
from llmteams_lab.errors import ArgumentError, DatasetError
from llmteams_lab.events import Event
from llmteams_lab.metrics.frame import SCHEMA, events_frame
from llmteams_lab.runtime.store import EventView

__all__ = ["events_of"]

ACCEPTED = ("a Run, ReplayRun, RunResult, Lab or PaperDataset, an events DataFrame, a list of events, "
            "or the path of a .jsonl/.parquet log")


def events_of(source: Any) -> pl.DataFrame:
    """The events of ``source`` as a frame in the one schema (see :data:`ACCEPTED`):
    a path is read (``datasets.read_events``); a run, replay or result gives its records;
    the lab and a ``PaperDataset`` their ``events`` frame (all the paper's runs)."""
    if isinstance(source, (str, os.PathLike)):
        return read_events(source)
    if isinstance(source, pl.DataFrame):
        return _checked(source)
    records = getattr(source, "records", None)  # a RunResult: a view of its run's event store, or a list
    if _event_sequence(records):
        return events_frame(records)
    events = getattr(source, "events", source)  # Run/ReplayRun: a view of the store; Lab/PaperDataset: a frame
    if isinstance(events, pl.DataFrame):
        return _checked(events)
    if _event_sequence(events):
        return events_frame(events)
    raise ArgumentError("source", f"must be {ACCEPTED}", type(source).__name__)


def _event_sequence(value: Any) -> bool:
    """A run's event view (``run.events``, ``result.records``) or a list/tuple of events."""
    if isinstance(value, EventView):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(e, Event) for e in value)


def _checked(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in SCHEMA if c not in frame.columns]
    if missing:
        raise DatasetError(f"the events frame lacks columns {missing}; expected the schema {list(SCHEMA)}")
    return frame.select(list(SCHEMA))
