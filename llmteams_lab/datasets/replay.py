"""Replaying our own recorded runs (JSONL or parquet logs) with the engine's step semantics."""

from __future__ import annotations

import os
from typing import Sequence

import polars as pl

from llmteams_lab.datasets.traces import read_events, records_from_frame
from llmteams_lab.errors import DatasetError
from llmteams_lab.runtime.replay import ReplayRun
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec

__all__ = ["replay_trace"]


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
