"""The bulk JSONL encoder writes exactly the bytes of ``Event.to_json`` (the canonical form)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab import JsonlSink, run_sync, team
from llmteams_lab.datasets.jsonl import encode_columns
from llmteams_lab.events import AgentReplied, MessageSent, RunEnded, events_to_jsonl
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
