"""The canonical JSONL of an event log, encoded from the columnar store with polars.

The canonical text of an event is ``Event.to_json()``: ``json.dumps`` of its row in
column order, compact separators, non-ASCII kept as is. Encoding one event at a time
that way costs ~5 µs; a 64-agent all-to-all round logs 8,000 events. This module writes
the *same bytes* for a whole batch at once: each distinct string is JSON-encoded once
(by ``json.dumps`` itself), integers and floats are turned into text by polars, and the
pieces are joined per row in Rust.

Floats: polars prints the shortest text that reads back as the same double, as Python's
``repr`` does, and both print it positionally for 1e-4 ≤ |x| < 1e16 — the range of
every clock value and nearly every cost. Outside it Python switches to exponent form
(``1e-05``) and polars formats differently (``0.00001``), so those few values are
printed by Python's ``repr`` instead. ``tests/datasets/test_jsonl.py`` checks that both
encoders agree byte for byte on random batches.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from llmteams_lab.runtime.store import EventStore

__all__ = ["encode_columns"]

def _json(value: str | None) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _floats(values: np.ndarray, nullable: bool) -> pl.Expr:
    """Text of float64 values as Python's ``json.dumps`` writes them (NaN: ``null`` when
    ``nullable``; the store keeps an unknown cost as NaN)."""
    series = pl.Series(values, dtype=pl.Float64)
    text = series.cast(pl.String)
    magnitude = np.abs(values)
    odd = np.flatnonzero((magnitude != 0) & ((magnitude < 1e-4) | (magnitude >= 1e16)) & np.isfinite(values))
    if odd.size:
        text = text.scatter(odd, [repr(float(v)) for v in values[odd].tolist()])
    if nullable:
        text = text.set(pl.Series(np.isnan(values)), "null")
    return pl.lit(text)


def encode_columns(store: EventStore, cols: dict[str, np.ndarray], start: int) -> str:
    """The canonical JSONL (one line per event, each ending in a newline) of the rows
    ``cols`` of ``store``, the first of which has ``seq == start``."""
    n = cols["round"].size
    if n == 0:
        return ""
    tokens = pl.Series([_json(s) for s in store.table.strings], dtype=pl.String)
    kinds = pl.Series([json.dumps(k) for k in store.kinds], dtype=pl.String)
    text = lambda name: pl.lit(tokens.gather(cols[name]))  # noqa: E731
    as_text = lambda name: pl.lit(pl.Series(cols[name]).cast(pl.String))  # noqa: E731
    cause = pl.Series(cols["cause"]).cast(pl.String).set(pl.Series(cols["cause"] < 0), "null")
    correct = pl.Series(["null", "false", "true"], dtype=pl.String).gather(cols["correct"])
    parts = [
        pl.lit('{"run_id":' + _json(store.run_id) + ',"round":'), as_text("round"),
        pl.lit(',"seq":'), pl.lit(pl.Series(np.arange(start, start + n, dtype=np.int64)).cast(pl.String)),
        pl.lit(',"kind":'), pl.lit(kinds.gather(cols["kind"])),
        pl.lit(',"agent":'), text("agent"), pl.lit(',"peer":'), text("peer"),
        pl.lit(',"t_start":'), _floats(cols["t_start"], False), pl.lit(',"t_end":'), _floats(cols["t_end"], False),
        pl.lit(',"value":'), text("value"), pl.lit(',"correct":'), pl.lit(correct),
        pl.lit(',"tokens_in":'), as_text("tokens_in"), pl.lit(',"tokens_out":'), as_text("tokens_out"),
        pl.lit(',"cost_usd":'), _floats(cols["cost_usd"], True),
        pl.lit(',"fault":'), text("fault"), pl.lit(',"detail":'), text("detail"),
        pl.lit(',"count":'), as_text("count"), pl.lit(',"cause":'), pl.lit(cause), pl.lit("}\n"),
    ]
    return pl.select(pl.concat_str(parts)).to_series().str.join("").item()
