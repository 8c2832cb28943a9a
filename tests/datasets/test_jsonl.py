"""The bulk JSONL encoder writes exactly the bytes of ``Event.to_json`` (the canonical form)."""

from __future__ import annotations

import io
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab import JsonlSink, run_sync, team
from llmteams_lab.datasets.jsonl import encode_columns, write_columns
from llmteams_lab.events import (
    AgentReplied,
    MessageDelivered,
    MessageSent,
    RoundStarted,
    RunEnded,
    events_to_jsonl,
)
from llmteams_lab.runtime.store import EventStore, EventView

texts = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12))
floats = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.0, 1e-6, 5e-5, 1e-4,
                                                                                       9.9999e15, 1e16, 0.1 + 0.2]))
costs = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False))
rows = st.tuples(st.sampled_from([AgentReplied, MessageSent, RunEnded]), st.integers(0, 10**6), texts, texts,
                 floats, floats, texts, st.one_of(st.none(), st.booleans()), st.integers(0, 2**62),
                 st.integers(0, 2**62), costs, texts, texts, st.integers(1, 10**9),
                 st.one_of(st.none(), st.integers(0, 10**9)))


@settings(max_examples=60, deadline=None)
@given(st.lists(rows, min_size=1, max_size=30), st.text(max_size=8))
def test_bulk_encoding_equals_the_canonical_one_event_at_a_time(batch, run_id) -> None:
    store = EventStore(run_id, ["a0", "a1"])
    for seq, (cls, rnd, agent, peer, ts, te, value, correct, tin, tout, cost, fault, detail, count, cause) \
            in enumerate(batch):
        store.append(cls(run_id, rnd, seq, agent, peer, ts, te, value, correct, tin, tout, cost, fault, detail,
                         count, cause))
    view = EventView(store)
    canonical = events_to_jsonl(list(view))
    assert encode_columns(store, view.columns(), 0) == canonical
    for a, b in zip(view, batch):  # the store gives back exactly what it was given
        assert (a.t_start, a.cost_usd, a.cause) == (b[4], b[10], b[14]) or math.isnan(a.t_start)


def test_a_big_runs_jsonl_file_is_the_canonical_log(tmp_path) -> None:
    path = tmp_path / "events.jsonl"
    spec = team(40, topology="complete", logging="messages", seed=3, max_rounds=3)
    result = run_sync(spec.replace(protocol=spec.protocol.replace(stop_at_consensus=False)),
                      sinks=[JsonlSink(path)])
    assert len(result.records) > 3 * 40 * 39 * 2  # rounds of thousands of events: the bulk encoder ran
    assert path.read_text(encoding="utf-8") == events_to_jsonl(list(result.records))


@settings(max_examples=40, deadline=None)
@given(st.lists(rows, min_size=1, max_size=30), st.integers(0, 10**6))
def test_writing_columns_to_a_file_gives_the_canonical_bytes(batch, start) -> None:
    store = EventStore("r", ["a0"])
    for seq, (cls, *fields) in enumerate(batch):
        store.append(cls("r", fields[0], seq, *fields[1:]))
    out = io.BytesIO()
    write_columns(store, store.columns(), start, out)
    events = [e._replace(seq=e.seq + start) for e in EventView(store)]
    assert out.getvalue() == events_to_jsonl(events).encode("utf-8")


def test_a_big_batched_write_equals_the_event_by_event_serialisation(tmp_path) -> None:
    """Thousands of events of mixed kinds, each kind with fields that are constant in the
    batch and fields that vary (odd floats, unknown costs, non-ASCII text), written by the
    sink's bulk path after a few events written one at a time: the same file as
    ``Event.to_json`` per event."""
    rng = random.Random(7)
    store = EventStore("run-ü", ["a0", "a1", "a2"])
    kinds = [AgentReplied, MessageSent, MessageDelivered, RoundStarted]
    for seq in range(6_000):
        cls = kinds[seq % 4] if seq % 97 else rng.choice(kinds)
        varied = cls is AgentReplied
        store.append(cls("run-ü", seq // 500, seq, f"a{rng.randrange(3)}", rng.choice([None, "a1", "ß"]),
                         rng.choice([0.5, 1e-5, 2.25e17, seq / 7]), 1.0 + seq, rng.choice(["x", "{y}", None]),
                         rng.choice([None, True, False]) if varied else None, rng.randrange(9) if varied else 0,
                         5, rng.choice([None, 0.001, 3e-7]) if varied else None, None, "d\n\"q\"" if varied else None,
                         1, seq - 1 if cls is MessageDelivered else None))
    view = EventView(store)
    path = tmp_path / "big.jsonl"
    sink = JsonlSink(path)
    sink.write(list(view[:10]))  # a small batch: one event at a time
    sink.write(EventView(store))  # the bulk path (> 2,048 events), appended after it
    sink.close()
    expected = events_to_jsonl(list(view[:10])) + events_to_jsonl(list(view))
    assert path.read_bytes() == expected.encode("utf-8")
