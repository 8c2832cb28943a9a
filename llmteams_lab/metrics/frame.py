"""Events ⇄ polars: the one frame schema every metric and plot reads.

``events_frame`` accepts typed events (a live run, a replay) and returns a DataFrame
with exactly :data:`SCHEMA`; frames read back from JSONL/parquet are checked against
the same schema, so a metric works identically on live runs, saved logs and the
paper's imported data.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import polars as pl

from llmteams_lab.events import COLUMNS, Event
from llmteams_lab.runtime.store import EventStore

__all__ = ["SCHEMA", "count_of", "empty_frame", "events_frame"]

SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String,
    "round": pl.Int64,
    "seq": pl.Int64,
    "kind": pl.String,
    "agent": pl.String,
    "peer": pl.String,
    "t_start": pl.Float64,
    "t_end": pl.Float64,
    "value": pl.String,
    "correct": pl.Boolean,
    "tokens_in": pl.Int64,
    "tokens_out": pl.Int64,
    "cost_usd": pl.Float64,
    "fault": pl.String,
    "detail": pl.String,
    "count": pl.Int64,
    "cause": pl.Int64,
}
assert tuple(SCHEMA) == COLUMNS, "frame schema and event columns must list the same names"


def count_of(kind: str, when: pl.Expr | None = None) -> pl.Expr:
    """How many happenings of ``kind`` (optionally only rows where ``when``) the rows
    stand for: Σ ``count``, so per-message and aggregated logs give the same totals."""
    cond = pl.col("kind") == kind
    return pl.col("count").filter(cond if when is None else cond & when).sum()


def events_frame(events: Iterable[Event]) -> pl.DataFrame:
    """A DataFrame of ``events`` in the one schema.

    A run's events (``run.events``, ``result.records``, a sink's batch) are built from the
    columnar store's arrays without a Python object per event (about 10 M events/s);
    any other iterable of typed events is built column-wise from the tuples."""
    store = getattr(events, "store", None)
    if isinstance(store, EventStore):
        return _from_store(store, events.columns(), getattr(events, "start", 0))
    rows = list(events)
    if not rows:
        return empty_frame()
    columns = list(zip(*rows))
    return pl.DataFrame({name: pl.Series(name, col, dtype=SCHEMA[name], strict=False)
                         for name, col in zip(COLUMNS, columns)})


def _from_store(store: EventStore, cols: dict[str, np.ndarray], start: int) -> pl.DataFrame:
    n = cols["round"].size
    if n == 0:
        return empty_frame()
    strings = pl.Series(store.table.strings, dtype=pl.String)
    text = lambda codes: strings.gather(codes)  # noqa: E731  (code 0 is None: a null)
    kinds = pl.Series(store.kinds, dtype=pl.String).gather(cols["kind"])
    correct = cols["correct"]
    frame = pl.DataFrame({
        "run_id": pl.Series([store.run_id], dtype=pl.String).gather(np.zeros(n, dtype=np.int64)),
        "round": pl.Series(cols["round"], dtype=pl.Int64),
        "seq": pl.Series(np.arange(start, start + n, dtype=np.int64)),
        "kind": kinds,
        "agent": text(cols["agent"]), "peer": text(cols["peer"]),
        "t_start": cols["t_start"], "t_end": cols["t_end"],
        "value": text(cols["value"]),
        "correct": pl.Series(correct == 2).set(pl.Series(correct == 0), None),
        "tokens_in": cols["tokens_in"], "tokens_out": cols["tokens_out"],
        "cost_usd": pl.Series(cols["cost_usd"]).fill_nan(None),
        "fault": text(cols["fault"]), "detail": text(cols["detail"]),
        "count": cols["count"],
        "cause": pl.Series(cols["cause"]).set(pl.Series(cols["cause"] < 0), None),
    })
    return frame.cast(SCHEMA)  # type: ignore[arg-type]


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)
