"""The one frame schema: events → polars, every column typed, empty logs included."""

from __future__ import annotations

import polars as pl

from llmteams_lab.events import COLUMNS, AgentReplied, MessageSent, event_kinds
from llmteams_lab.metrics import SCHEMA, empty_frame, events_frame


def test_frame_has_exactly_the_schema() -> None:
    events = [AgentReplied("r", 1, 0, "a", value="X", correct=True, tokens_in=3, detail='{"confidence": 0.5}'),
              MessageSent("r", 1, 1, "a", "b", t_start=0.5, t_end=0.5, count=1)]
    frame = events_frame(events)
    assert tuple(frame.columns) == COLUMNS == tuple(SCHEMA)
    assert dict(frame.schema) == SCHEMA
    assert frame.row(0, named=True) == events[0].as_dict()
    assert frame["kind"].to_list() == ["AgentReplied", "MessageSent"]


def test_empty_log_gives_an_empty_typed_frame() -> None:
    assert events_frame([]).schema == empty_frame().schema == pl.Schema(SCHEMA)
    assert events_frame(iter([])).is_empty()


def test_every_event_kind_is_its_class_name() -> None:
    import llmteams_lab.events as ev

    for kind in event_kinds():  # built-in types live in events; workloads define theirs (define_event)
        cls = getattr(ev, kind, None) or ev.event_class(kind)
        assert cls.__name__ == kind and cls("r", 0, 0).kind == kind
