"""Trace I/O: JSONL and parquet logs read back in the one schema; clear DatasetErrors."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from llmteams_lab import team
from llmteams_lab.datasets import (
    read_events,
    read_jsonl,
    read_parquet,
    records_from_frame,
    write_parquet,
)
from llmteams_lab.errors import DatasetError
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.metrics import SCHEMA, events_frame
from tests.support import run_events

COLS = list(SCHEMA)


@pytest.fixture(scope="module")
def events():
    return run_events(team(4, topology="ring", seed=2, max_rounds=3))


def test_parquet_round_trip_is_equal(tmp_path, events) -> None:
    path = write_parquet(events, tmp_path / "deep" / "events.parquet")
    frame = read_parquet(path)
    assert_frame_equal(frame, events_frame(events))
    assert records_from_frame(frame) == events
    assert [type(e) for e in records_from_frame(frame)] == [type(e) for e in events]


def test_jsonl_round_trip_is_equal(tmp_path, events) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(events_to_jsonl(events) + "\n", encoding="utf-8")  # a blank line is tolerated
    assert_frame_equal(read_jsonl(path), events_frame(events))
    assert_frame_equal(read_events(path), events_frame(events))
    assert records_from_frame(read_events(path)) == events


def test_an_empty_jsonl_file_is_an_empty_frame(tmp_path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    assert read_jsonl(path).schema == pl.Schema(SCHEMA)


def test_missing_files_raise_dataset_error(tmp_path) -> None:
    missing = tmp_path / "nope.parquet"
    with pytest.raises(DatasetError) as info:
        read_parquet(missing)
    assert str(info.value) == f"no events file at {str(missing)!r}"
    with pytest.raises(DatasetError, match="no events file at"):
        read_events(tmp_path / "nope.jsonl")
    assert isinstance(info.value, ValueError)


def test_parquet_with_wrong_columns_names_them(tmp_path, events) -> None:
    path = tmp_path / "bad.parquet"
    events_frame(events).drop("fault").with_columns(colour=pl.lit("red")).write_parquet(path)
    with pytest.raises(DatasetError) as info:
        read_parquet(path)
    assert str(info.value) == (f"{path}: unexpected columns (missing ['fault'], unexpected ['colour']); "
                               f"expected {COLS}")


def test_jsonl_with_missing_columns_or_bad_lines(tmp_path, events) -> None:
    row = events[0].as_dict()
    del row["count"], row["detail"]
    path = tmp_path / "short.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        read_jsonl(path)
    assert str(info.value) == f"{path}: missing columns ['count', 'detail']; expected {COLS}"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(events[0].to_json() + "\n{oops\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        read_jsonl(bad)
    assert str(info.value) == f"{bad}: line 2 is not JSON (Expecting property name enclosed in double quotes)"


def test_unknown_extension_is_refused(tmp_path) -> None:
    with pytest.raises(DatasetError) as info:
        read_events(tmp_path / "events.csv")
    assert str(info.value) == f"{str(tmp_path / 'events.csv')!r}: expected a .jsonl or .parquet events file"
