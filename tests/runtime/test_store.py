"""The columnar event store: what goes in comes out, in order, across segments; forks
truncate; a kept event costs at most ~82 bytes."""

from __future__ import annotations

import numpy as np

from llmteams_lab import run_sync, team
from llmteams_lab.events import AgentReplied, MessageSent, RoundEnded
from llmteams_lab.runtime.store import BLOCK_COLUMNS, EventStore, EventView
from tests.support import no_stop


def _rows(store: EventStore, start: int, count: int) -> list:
    out = []
    for seq in range(start, start + count):
        e = AgentReplied("r", seq % 7, seq, f"a{seq % 3}", None, seq / 8, seq / 4, "B" if seq % 2 else None,
                         [None, True, False][seq % 3], seq, 2 * seq, None if seq % 5 else 0.25, None,
                         f"d{seq % 11}", 1, seq - 1 if seq else None)
        store.append(e)
        out.append(e)
    return out


def test_rows_and_blocks_come_back_in_order_across_segment_boundaries() -> None:
    store = EventStore("r", ["a0", "a1", "a2"])
    expected = _rows(store, 0, 3000)
    m = 9000  # crosses the first segments (512 and 4,096 rows) into the third
    first = len(store)
    store.append_block("MessageSent", m, round=3, agent=np.arange(m) % 3 + 1, peer=(np.arange(m) + 1) % 3 + 1,
                       t_start=np.arange(m) / 1e6, t_end=1.5, tokens_out=np.arange(m), cause=np.arange(m))
    expected += [MessageSent("r", 3, first + j, f"a{j % 3}", f"a{(j + 1) % 3}", j / 1e6, 1.5, None, None, 0, j,
                             None, None, None, 1, j) for j in range(m)]
    expected += _rows(store, len(store), 10)
    view = EventView(store)
    assert len(view) == len(expected) == 12_010
    assert list(view) == expected
    assert view[4095] == expected[4095] and view[4096] == expected[4096] and view[-1] == expected[-1]
    assert view[2990:3010] == expected[2990:3010]


def test_coded_columns_append_what_a_block_appends_within_and_across_segments() -> None:
    block, coded = EventStore("r", ["a0", "a1", "a2"]), EventStore("r", ["a0", "a1", "a2"])
    col = BLOCK_COLUMNS.index
    for store in (block, coded):
        _rows(store, 0, 7)  # pending typed rows are packed first
    for m in (60, 4000, 3, 9000):  # one fits, one crosses into the second segment, ...
        cause = np.arange(m) + len(block)
        first = len(block)
        block.append_block("MessageDelivered", m, round=2, agent=2, peer=np.arange(m) % 3 + 1, t_start=0.25,
                           t_end=np.arange(m) / 8, value=block.table.code("B"), cause=cause)
        got = coded.append_columns(coded.kind_code("MessageDelivered"), m, (
            (col("round"), 2), (col("agent"), 2), (col("peer"), np.arange(m) % 3 + 1), (col("t_start"), 0.25),
            (col("t_end"), np.arange(m) / 8), (col("value"), coded.table.code("B")), (col("cause"), cause)))
        assert got == first and len(coded) == len(block)
        _rows(block, len(block), 2)
        _rows(coded, len(coded), 2)
    assert coded.append_columns(coded.kind_code("MessageSent"), 0, ()) == len(coded)
    assert list(EventView(coded)) == list(EventView(block))


def test_truncate_keeps_a_prefix_and_appending_continues_from_it() -> None:
    store = EventStore("r")
    kept = _rows(store, 0, 5000)[:4100]
    store.truncate(4100)
    assert list(EventView(store)) == kept
    tail = RoundEnded("r", 9, 4100, value="A", correct=True)
    store.append(tail)
    assert EventView(store)[-1] == tail and len(store) == 4101


def test_a_snapshot_view_does_not_grow_with_the_run() -> None:
    store = EventStore("r")
    _rows(store, 0, 10)
    fixed = EventView(store, 10)
    _rows(store, 10, 5)
    assert len(fixed) == 10 and len(EventView(store)) == 15


def test_a_message_heavy_run_keeps_each_event_in_under_100_bytes() -> None:
    spec = no_stop(team(60, topology="complete", logging="messages", seed=2, max_rounds=4))
    result = run_sync(spec)
    store = result.records.store
    per_event = store.nbytes() / len(store)
    assert len(store) > 4 * 60 * 59 * 2 and per_event < 100, per_event


def test_the_frame_from_columns_equals_the_frame_from_typed_events() -> None:
    from llmteams_lab.metrics import events_frame

    spec = team(6, logging="messages", seed=5, max_rounds=3).replace(
        faults=[{"kind": "drop", "probability": 0.3}, {"kind": "timeout", "agent": "a1", "probability": 0.5}])
    result = run_sync(spec)
    assert result.events.equals(events_frame(list(result.records)))
    assert result.events is result.events  # built once, cached


def test_a_team_row_stores_what_a_typed_event_stores() -> None:
    """``EventLog.row`` (the engine's per-round events, without a typed event) keeps
    exactly what ``EventLog.add`` keeps, for every field it takes."""
    from llmteams_lab.events import AnswersTallied, RoundStarted
    from llmteams_lab.runtime.log import EventLog

    cases = [(RoundStarted, {"t_start": 1.5, "t_end": 1.5}),
             (AnswersTallied, {"t_start": 0.0, "t_end": 2.25, "value": "B", "correct": False, "tokens_in": 400,
                               "tokens_out": 60, "cost_usd": 0.0, "count": 7}),
             (AnswersTallied, {"value": None, "correct": None, "count": 2, "cost_usd": None}),
             (RoundEnded, {"t_start": 3.0, "t_end": 4.125, "value": "A", "correct": True, "detail": "consensus"}),
             (MessageSent, {"tokens_out": 5400, "count": 90, "fault": "drop"})]
    typed, rows = EventLog("r", (), ["a0"]), EventLog("r", (), ["a0"])
    for r, (cls, fields) in enumerate(cases, 1):
        typed.add(cls, r, **fields)
        assert rows.row(cls.__name__, r, **fields) == r - 1
    assert list(rows.events) == list(typed.events)
    got, want = rows.store.columns(), typed.store.columns()
    assert all(np.array_equal(got[c], want[c], equal_nan=True) for c in want)


def test_a_few_rows_between_blocks_come_back_as_they_went_in() -> None:
    """An asynchronous turn appends a row or two, then a block: the few pending rows are
    packed element by element (more are packed column by column) — the same values."""
    store = EventStore("r", ["a0", "a1", "a2"])
    expected: list = []
    for turn in range(700):  # crosses the first segment (512 rows) into the next
        expected += _rows(store, len(store), 1 + turn % 5)  # 1..5 pending rows: both packing paths
        m = 1 + turn % 3
        store.append_block("MessageSent", m, round=turn, agent=1, peer=np.arange(m) % 3 + 1, t_start=turn / 4,
                           t_end=turn / 2, tokens_out=60)
        expected += store.events(len(store) - m, len(store))
    assert store.events(0, len(store)) == expected
    assert [e.seq for e in store.events(0, len(store))] == list(range(len(store)))
    kinds = store.columns()["kind"]
    assert (kinds == store.kind_code("MessageSent")).sum() == sum(1 + t % 3 for t in range(700))
