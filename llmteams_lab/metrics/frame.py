"""Events ⇄ polars: the one frame schema every metric and plot reads.

``events_frame`` accepts typed events (a live run, a replay) and returns a DataFrame
with exactly :data:`SCHEMA`; frames read back from JSONL/parquet are checked against
the same schema, so a metric works identically on live runs, saved logs and the
paper's imported data.
"""

from __future__ import annotations

from typing import Iterable

import polars as pl

from llmteams_lab.events import COLUMNS, Event

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
}
assert tuple(SCHEMA) == COLUMNS, "frame schema and event columns must list the same names"


def count_of(kind: str, when: pl.Expr | None = None) -> pl.Expr:
    """How many happenings of ``kind`` (optionally only rows where ``when``) the rows
    stand for: Σ ``count``, so per-message and aggregated logs give the same totals."""
    cond = pl.col("kind") == kind
    return pl.col("count").filter(cond if when is None else cond & when).sum()


def events_frame(events: Iterable[Event]) -> pl.DataFrame:
    """A DataFrame of ``events`` in the one schema (column-wise build: fast for 10^5 rows)."""
    rows = list(events)
    if not rows:
        return empty_frame()
    columns = list(zip(*rows))
    return pl.DataFrame({name: pl.Series(name, col, dtype=SCHEMA[name], strict=False)
                         for name, col in zip(COLUMNS, columns)})


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)
