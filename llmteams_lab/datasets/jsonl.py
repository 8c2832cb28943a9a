"""The canonical JSONL of an event log, encoded from the columnar store with polars.

The canonical text of an event is ``Event.to_json()``: ``json.dumps`` of its row in
column order, compact separators, non-ASCII kept as is. Encoding one event at a time
that way costs ~5 µs; a 64-agent all-to-all round logs 8,000 events. This module writes
the *same bytes* for a whole batch at once, without a Python object per event:

* **per-kind templates.** Rows are grouped by kind; within one kind most columns hold a
  single value (a ``MessageSent`` has no tokens, cost, fault or count of its own), so
  each kind's line is a template whose constant fields are folded into its literal
  text, and only the columns that vary (round, seq, agents, times, value, cause) are
  turned into text and joined per row by polars (in Rust). The lines are put back in
  log order by one gather of string views.
* **text of values.** Each distinct string is JSON-encoded once (by ``json.dumps``
  itself); integers and floats are turned into text by polars. A constant field's text
  comes from the same vectorised path (on its first row), so folding never changes a
  byte.
* **straight to the file.** :func:`write_columns` hands the lines to polars' CSV writer
  (one column, never quoted, no header), so the batch never becomes one big Python
  string that is then encoded to UTF-8 again.

Floats: polars prints the shortest text that reads back as the same double, as Python's
``repr`` does, and both print it positionally for 1e-4 ≤ |x| < 1e16 — the range of
every clock value and nearly every cost. Outside it Python switches to exponent form
(``1e-05``) and polars formats differently (``0.00001``), so those few values are
printed by Python's ``repr`` instead. ``tests/datasets/test_jsonl.py`` checks that the
encoders agree byte for byte with ``Event.to_json`` on random batches.
"""

from __future__ import annotations

import json
from typing import BinaryIO

import numpy as np
import polars as pl

from llmteams_lab.runtime.store import EventStore

__all__ = ["encode_columns", "write_columns"]

# (column, how its text is made); the key order is Event's column order after run_id
_FIELDS: tuple[tuple[str, str], ...] = (
    ("round", "int"), ("seq", "int"), ("kind", "kind"), ("agent", "string"), ("peer", "string"),
    ("t_start", "float"), ("t_end", "float"), ("value", "string"), ("correct", "correct"),
    ("tokens_in", "int"), ("tokens_out", "int"), ("cost_usd", "cost"), ("fault", "string"),
    ("detail", "string"), ("count", "int"), ("cause", "cause"),
)
_CORRECT = pl.Series(["null", "false", "true"], dtype=pl.String)


def _json(value: str | None) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _floats(values: np.ndarray, nullable: bool) -> pl.Series:
    """Text of float64 values as Python's ``json.dumps`` writes them (NaN: ``null`` when
    ``nullable``; the store keeps an unknown cost as NaN)."""
    text = pl.Series(values, dtype=pl.Float64).cast(pl.String)
    odd = _odd_floats(values)
    if odd.size:
        text = text.scatter(odd, [repr(float(v)) for v in values[odd].tolist()])
    if nullable:
        text = text.set(pl.Series(np.isnan(values)), "null")
    return text


class _Texts:
    """Turns a column's values into their JSON text: eagerly (:meth:`__call__`) or as a
    polars expression (:meth:`expr`, evaluated in parallel with the other kinds')."""

    def __init__(self, store: EventStore):
        self.tokens = pl.Series([_json(s) for s in store.table.strings], dtype=pl.String)
        self.kinds = pl.Series([json.dumps(k) for k in store.kinds], dtype=pl.String)

    def __call__(self, how: str, values: np.ndarray) -> pl.Series:
        if how == "int":
            return pl.Series(values).cast(pl.String)
        if how == "string":
            return self.tokens.gather(values)
        if how == "kind":
            return self.kinds.gather(values)
        if how == "correct":
            return _CORRECT.gather(values)
        if how == "cause":
            return pl.Series(values).cast(pl.String).set(pl.Series(values < 0), "null")
        return _floats(values, nullable=how == "cost")

    def expr(self, how: str, values: np.ndarray) -> pl.Expr:
        if how == "int":
            return pl.lit(pl.Series(values)).cast(pl.String)
        if how == "cause":
            number = pl.lit(pl.Series(values))
            return pl.when(number < 0).then(pl.lit("null")).otherwise(number.cast(pl.String))
        if how == "float" and np.isfinite(values).all() and not _odd_floats(values).size:
            return pl.lit(pl.Series(values, dtype=pl.Float64)).cast(pl.String)
        return pl.lit(self(how, values))


def _odd_floats(values: np.ndarray) -> np.ndarray:
    """Positions of finite nonzero floats that Python prints in exponent form."""
    magnitude = np.abs(values)
    return np.flatnonzero((magnitude != 0) & ((magnitude < 1e-4) | (magnitude >= 1e16)) & np.isfinite(values))


def _constant(values: np.ndarray) -> bool:
    if values.dtype.kind == "f" and np.isnan(values[0]):  # an unknown cost
        return bool(np.isnan(values).all())
    return bool((values == values[0]).all())


def _escaped(text: str) -> str:
    """``text`` as literal text of a ``pl.format`` template (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


def _template_lines(texts: _Texts, prefix: str, cols: dict[str, np.ndarray]) -> pl.LazyFrame:
    """The lines (without newline, column ``line``) of rows that share a template:
    constant fields are folded into the literal text, the others formatted per row."""
    template, args = _escaped(prefix), []
    for i, (name, how) in enumerate(_FIELDS):
        template += ("," if i else "") + f'"{name}":'
        values = cols[name]
        if values.size > 1 and not _constant(values):
            template += "{}"
            args.append(texts.expr(how, values))
        else:
            template += _escaped(texts(how, values[:1])[0])
    template += "}}"
    if not args:  # every field constant: the same line for every row
        line = pl.lit(template.replace("{{", "{").replace("}}", "}"))
        return pl.LazyFrame({"row": np.zeros(cols["round"].size, dtype=np.int8)}).select(line.alias("line"))
    return pl.LazyFrame().select(pl.format(template, *args).alias("line"))


def _lines(store: EventStore, cols: dict[str, np.ndarray], start: int) -> pl.Series:
    """One canonical line (no newline) per row of ``cols``, in order."""
    n = cols["round"].size
    cols = dict(cols, seq=np.arange(start, start + n, dtype=np.int64))
    texts, prefix = _Texts(store), '{"run_id":' + _json(store.run_id) + ","
    kind = cols["kind"]
    if _constant(kind):
        return _template_lines(texts, prefix, cols).collect().to_series()
    order = np.argsort(kind, kind="stable")
    bounds = np.flatnonzero(np.diff(kind[order])) + 1
    grouped = {name: values[order] for name, values in cols.items()}
    frames = pl.collect_all([_template_lines(texts, prefix, {name: values[lo:hi] for name, values in grouped.items()})
                             for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), n])])
    where = np.empty(n, dtype=np.int64)
    where[order] = np.arange(n, dtype=np.int64)
    return pl.concat([frame.to_series() for frame in frames], rechunk=False).gather(where)


def encode_columns(store: EventStore, cols: dict[str, np.ndarray], start: int) -> str:
    """The canonical JSONL (one line per event, each ending in a newline) of the rows
    ``cols`` of ``store``, the first of which has ``seq == start``."""
    if cols["round"].size == 0:
        return ""
    return _lines(store, cols, start).str.join("\n").item() + "\n"


def write_columns(store: EventStore, cols: dict[str, np.ndarray], start: int, file: BinaryIO) -> None:
    """Write the canonical JSONL of the rows ``cols`` of ``store`` (as
    :func:`encode_columns`) to the binary ``file``, without building it as one string."""
    if cols["round"].size == 0:
        return
    frame = pl.DataFrame({"line": _lines(store, cols, start)})
    frame.write_csv(file, include_header=False, quote_style="never", line_terminator="\n")
