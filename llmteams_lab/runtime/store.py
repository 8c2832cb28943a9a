"""The event store: a run's events kept as columns, not as one Python object each.

Why columns: a 64-agent all-to-all round records ~8,000 message events and a 10-round
debate of 2,000 agents ~80 million. As typed tuples an event costs ~220 bytes and every
one is a container the cyclic garbage collector traverses again and again; as columns
it costs 82 bytes (below), the collector never sees it, a round's messages are
appended with a handful of numpy operations, and the polars frame every metric reads
is built from the arrays without touching a Python object per event.

Per event (bytes): round int32 (4) · kind uint8 (1) · agent, peer int32 string codes
(4 + 4) · t_start, t_end float64 (8 + 8) · value int32 code (4) · correct int8 (1:
0 unknown, 1 false, 2 true) · tokens_in, tokens_out int64 (8 + 8) · cost_usd float64
(8, NaN = unknown) · fault, detail int32 codes (4 + 4) · count int64 (8) · cause int64
(8, -1 = none). ``run_id`` is the store's; ``seq`` is the position.

Strings (agent ids, answers, fault names, details) are kept once each in a
:class:`StringTable`; code 0 is ``None`` and the team's agent ids come first, so agent
index *i* is code *i + 1* and bulk appends need no lookups. Events are appended two
ways, in the order they happened: :meth:`EventStore.append` for a typed
:class:`~llmteams_lab.events.Event` (rows wait in a short list and are packed into the
columns when the next block arrives or someone reads), and :meth:`EventStore.append_block`
for many events of one kind given as arrays. Storage grows in segments (512 rows
first, then 4,096 or an eighth of the log, up to 2**20), so a small run allocates
little and a huge one never holds more than one segment of slack.

Typed events are rebuilt on demand (:class:`EventView`, what ``run.events`` returns):
indexing and slicing materialise only the rows asked for.
"""

from __future__ import annotations

import bisect
import math
from typing import Any, Iterator, Sequence

import numpy as np

from llmteams_lab.events import Event, event_class

__all__ = ["BLOCK_COLUMNS", "EventStore", "EventView", "StringTable"]

# stored columns (everything but run_id and seq), their dtypes and their "none" value
_DTYPES: tuple[tuple[str, Any, Any], ...] = (
    ("round", np.int32, 0), ("kind", np.uint8, 0), ("agent", np.int32, 0), ("peer", np.int32, 0),
    ("t_start", np.float64, 0.0), ("t_end", np.float64, 0.0), ("value", np.int32, 0), ("correct", np.int8, 0),
    ("tokens_in", np.int64, 0), ("tokens_out", np.int64, 0), ("cost_usd", np.float64, math.nan),
    ("fault", np.int32, 0), ("detail", np.int32, 0), ("count", np.int64, 1), ("cause", np.int64, -1),
)
BLOCK_COLUMNS = tuple(name for name, _, _ in _DTYPES)
_BLOCK_SET = frozenset(BLOCK_COLUMNS)
_STRING_COLUMNS = ("agent", "peer", "value", "fault", "detail")
_FIRST_SEGMENT, _SEGMENT, _MAX_SEGMENT = 512, 4_096, 1 << 20
_FEW = 3  # pending rows packed element by element (more: column by column)
_CORRECT = (None, False, True)


class StringTable:
    """Each distinct string once; code 0 is ``None``."""

    __slots__ = ("strings", "_codes")

    def __init__(self, first: Sequence[str] = ()):
        self.strings: list[str | None] = [None]
        self._codes: dict[str, int] = {}
        for s in first:
            self.code(s)

    def code(self, s: str | None) -> int:
        if s is None:
            return 0
        found = self._codes.get(s)
        if found is None:
            found = self._codes[s] = len(self.strings)
            self.strings.append(s)
        return found

    def codes(self, values: Sequence[str | None]) -> np.ndarray:
        return np.fromiter(map(self.code, values), dtype=np.int32, count=len(values))


class _Segment:
    """Rows of every column; unused rows hold each column's "none" value, so a block
    that omits a column writes nothing to it (most blocks give half the columns)."""

    __slots__ = ("cols", "size", "used")

    def __init__(self, size: int):
        self.size, self.used = size, 0
        self.cols = [np.full(size, none, dtype=dtype) for _, dtype, none in _DTYPES]

    def clear_from(self, row: int) -> None:
        """Rows from ``row`` on become unused again (their "none" values back)."""
        for col, (_, _, none) in zip(self.cols, _DTYPES):
            col[row:] = none
        self.used = row


class EventStore:
    """A run's events as columns (see the module docstring)."""

    def __init__(self, run_id: str, ids: Sequence[str] = ()):
        self.run_id = run_id
        self.table = StringTable(ids)
        self.kinds: list[str] = []
        self._kind_codes: dict[str, int] = {}
        self._segments: list[_Segment] = []
        self._starts: list[int] = []  # first row of each segment
        self._packed = 0  # rows in segments
        self._pending: list[tuple] = []  # rows not yet packed, each a tuple of stored values in column order

    def __len__(self) -> int:
        return self._packed + len(self._pending)

    def kind_code(self, kind: str) -> int:
        code = self._kind_codes.get(kind)
        if code is None:
            if len(self.kinds) >= 255:
                raise OverflowError("an event store holds at most 255 event kinds")
            code = self._kind_codes[kind] = len(self.kinds)
            self.kinds.append(kind)
        return code

    # --- appending ----------------------------------------------------------------
    def append(self, event: Event) -> None:
        """Add one typed event (its ``seq`` must be its position: ``len(store)``)."""
        code = self.table.code
        (_, rnd, _, kind, agent, peer, t_start, t_end, value, correct, tokens_in, tokens_out, cost, fault, detail,
         count, cause) = event
        self.append_codes(self.kind_code(kind), rnd, code(agent), code(peer), t_start, t_end, code(value),
                          0 if correct is None else 1 + bool(correct), tokens_in, tokens_out,
                          math.nan if cost is None else cost, code(fault), code(detail), count,
                          -1 if cause is None else cause)

    def append_codes(self, kind: int, rnd: int, agent: int, peer: int, t_start: float, t_end: float, value: int,
                     correct: int, tokens_in: int, tokens_out: int, cost: float, fault: int, detail: int,
                     count: int, cause: int) -> int:
        """Add one event given as stored values (string codes, ``correct`` 0/1/2, NaN cost,
        -1 cause): the fast path for hot loops. Returns its ``seq``. One tuple per row,
        turned into columns when packed: one append instead of one per column."""
        p = self._pending
        p.append((rnd, kind, agent, peer, t_start, t_end, value, correct, tokens_in, tokens_out, cost, fault,
                  detail, count, cause))
        return self._packed + len(p) - 1

    def append_block(self, event: str, length: int, /, **columns: Any) -> None:
        """Add ``length`` events of kind ``event``. Each keyword is a stored column
        (:data:`BLOCK_COLUMNS`) given as an array of ``length`` values or one scalar;
        string columns are codes (:attr:`table`); omitted columns take their default.
        A ``kind`` array of kind codes (:meth:`kind_code`) mixes kinds in one block."""
        if length <= 0:
            return
        self._pack()
        if not columns.keys() <= _BLOCK_SET:
            raise KeyError(f"unknown event columns {sorted(columns.keys() - _BLOCK_SET)}")
        if "kind" not in columns:  # an array of kind codes may mix kinds (e.g. sent/delivered pairs)
            columns["kind"] = self.kind_code(event)
        self._write(length, [columns.get(name) for name in BLOCK_COLUMNS])

    def append_columns(self, kind: int, length: int, columns: Sequence[tuple[int, Any]]) -> int:
        """:meth:`append_block` for hot loops, nothing checked: ``kind`` is a kind code
        (:meth:`kind_code`), ``columns`` (position in :data:`BLOCK_COLUMNS`, array of
        ``length`` or scalar) pairs. Returns the ``seq`` of the first event. Why: an
        asynchronous turn writes a few blocks of ~60 messages, where keyword handling
        and the walk over all 15 columns cost as much as the copying."""
        if self._pending:
            self._pack()
        first = self._packed
        if length <= 0:
            return first
        seg = self._segments[-1] if self._segments else None
        if seg is None or seg.size - seg.used < length:  # a new segment, or a block across two
            values: list[Any] = [None] * len(_DTYPES)
            values[1] = kind
            for j, value in columns:
                values[j] = value
            self._write(length, values)
            return first
        lo = seg.used
        hi = lo + length
        cols = seg.cols
        cols[1][lo:hi] = kind
        for j, value in columns:
            cols[j][lo:hi] = value
        seg.used = hi
        self._packed += length
        return first

    def _write(self, length: int, values: list[Any]) -> None:
        """Write ``length`` rows; a value is an array (or list) of ``length``, a scalar,
        or ``None`` for the column's "none" value (already in unused rows: skipped)."""
        done = 0
        while done < length:
            seg = self._segment_with_room()
            lo = seg.used
            take = min(seg.size - lo, length - done)
            whole = take == length
            for col, value in zip(seg.cols, values):
                if value is None:
                    continue
                if whole or not isinstance(value, (np.ndarray, list)):
                    col[lo:lo + take] = value
                else:
                    col[lo:lo + take] = value[done:done + take]
            seg.used += take
            done += take
        self._packed += length

    def _segment_with_room(self) -> _Segment:
        if self._segments and self._segments[-1].used < self._segments[-1].size:
            return self._segments[-1]
        # an eighth of what is stored so far: the last segment's unused rows stay under
        # 12.5 % of the log (doubling would leave up to half of it empty)
        # (the first is small: a sweep's 10-agent run logs ~100 events, and allocating
        # 4,096 rows of 15 columns cost as much as two of its rounds)
        size = min(_MAX_SEGMENT, max(_SEGMENT, self._packed // 8)) if self._segments else _FIRST_SEGMENT
        self._starts.append(self._starts[-1] + self._segments[-1].size if self._segments else 0)
        self._segments.append(_Segment(size))
        return self._segments[-1]

    def _pack(self) -> None:
        """Move the pending rows into the columns."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        seg = self._segments[-1] if self._segments else None
        if len(pending) <= _FEW and seg is not None and seg.size - seg.used >= len(pending):
            cols = seg.cols  # a few rows (an asynchronous turn's): element by element, no conversions
            for row in pending:
                at = seg.used
                for col, value in zip(cols, row):
                    col[at] = value
                seg.used = at + 1
            self._packed += len(pending)
            return
        self._write(len(pending), [list(col) for col in zip(*pending)])  # numpy converts each to its dtype

    def truncate(self, length: int) -> None:
        """Forget every event from position ``length`` on (forks replace a run's tail)."""
        self._pack()
        if length >= self._packed:
            return
        i = bisect.bisect_right(self._starts, length) - 1 if length > 0 else 0
        del self._segments[i + 1:]
        del self._starts[i + 1:]
        if self._segments:
            self._segments[i].clear_from(length - self._starts[i])
        self._packed = length

    # --- reading ------------------------------------------------------------------
    def columns(self, start: int = 0, stop: int | None = None) -> dict[str, np.ndarray]:
        """Rows ``start:stop`` as arrays of the stored columns (codes for strings)."""
        self._pack()
        stop = self._packed if stop is None else min(stop, self._packed)
        start = max(0, min(start, stop))
        parts: list[list[np.ndarray]] = [[] for _ in _DTYPES]
        if start < stop:
            first = bisect.bisect_right(self._starts, start) - 1
            for seg, base in zip(self._segments[first:], self._starts[first:]):
                if base >= stop:
                    break
                lo, hi = max(start - base, 0), min(stop - base, seg.used)
                for out, col in zip(parts, seg.cols):
                    out.append(col[lo:hi])
        return {name: (np.concatenate(p) if len(p) > 1 else p[0].copy()) if p else np.empty(0, dtype)
                for (name, dtype, _), p in zip(_DTYPES, parts)}

    def events(self, start: int = 0, stop: int | None = None) -> list[Event]:
        """Rows ``start:stop`` as typed events."""
        cols = self.columns(start, stop)
        n = cols["round"].size
        if n == 0:
            return []
        strings, run_id = self.table.strings, self.run_id
        text = {name: list(map(strings.__getitem__, cols[name].tolist())) for name in _STRING_COLUMNS}
        classes = [event_class(k) for k in self.kinds]
        kinds = self.kinds
        kind_codes = cols["kind"].tolist()
        cost = [None if c != c else c for c in cols["cost_usd"].tolist()]
        cause = [None if c < 0 else c for c in cols["cause"].tolist()]
        correct = list(map(_CORRECT.__getitem__, cols["correct"].tolist()))
        new = tuple.__new__
        return [new(classes[k], (run_id, r, seq, kinds[k], a, p, ts, te, v, c, ti, to, usd, f, d, cnt, cz))
                for seq, k, r, a, p, ts, te, v, c, ti, to, usd, f, d, cnt, cz in zip(
                    range(start, start + n), kind_codes, cols["round"].tolist(), text["agent"], text["peer"],
                    cols["t_start"].tolist(), cols["t_end"].tolist(), text["value"], correct,
                    cols["tokens_in"].tolist(), cols["tokens_out"].tolist(), cost, text["fault"], text["detail"],
                    cols["count"].tolist(), cause)]

    def nbytes(self) -> int:
        """Bytes held by the columns (allocated segments) and the string table's strings."""
        cols = sum(c.nbytes for seg in self._segments for c in seg.cols)
        return cols + sum(len(s) + 49 for s in self.table.strings if s is not None)


class EventView(Sequence):
    """A run's events as a read-only sequence of typed records, built on demand.

    Without ``stop`` it follows the store as it grows (``run.events``); with ``stop`` it
    is the first ``stop`` events, fixed (a result's ``records``)."""

    __slots__ = ("store", "_stop")

    def __init__(self, store: EventStore, stop: int | None = None):
        self.store = store
        self._stop = stop

    def __len__(self) -> int:
        return len(self.store) if self._stop is None else self._stop

    def columns(self) -> dict[str, np.ndarray]:
        """The viewed events as arrays of the stored columns (see :meth:`EventStore.columns`)."""
        return self.store.columns(0, len(self))

    def __getitem__(self, index: Any) -> Any:
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return self.store.events(0, n)[index]
            return self.store.events(start, stop) if start < stop else []
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("event index out of range")
        return self.store.events(i, i + 1)[0]

    def __iter__(self) -> Iterator[Event]:
        n, step = len(self), 65_536
        for start in range(0, n, step):
            yield from self.store.events(start, min(n, start + step))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (EventView, list, tuple)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"<{len(self)} events of {self.store.run_id}>"
