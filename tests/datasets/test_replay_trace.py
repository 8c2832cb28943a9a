"""Our own recorded runs replay from JSONL and parquet exactly like the paper's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmteams_lab import JsonlSink, run_sync, team
from llmteams_lab.datasets import ParquetSink, read_events, replay_trace
from llmteams_lab.errors import DatasetError
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.spec import work_team


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_a_saved_run_replays_byte_for_byte(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"run.{suffix}"
    sink = JsonlSink(path) if suffix == "jsonl" else ParquetSink(path)
    live = run_sync(work_team(3, p=0.5, seed=2, work={"error_rate": 0.2}), sinks=[sink])
    replay = replay_trace(path)
    result = asyncio.run(replay.run())
    assert events_to_jsonl(replay.events) == events_to_jsonl(live.records)
    assert result.reason == live.reason and result.rounds == live.rounds and replay.spec == live.spec


def test_a_log_of_several_runs_needs_a_run_id(tmp_path: Path) -> None:
    path = tmp_path / "both.jsonl"
    first = run_sync(team(3, seed=1), sinks=[JsonlSink(path)])
    run_sync(team(4, seed=2), sinks=[JsonlSink(path)])
    with pytest.raises(DatasetError, match="holds 2 runs; pass run_id="):
        replay_trace(path)
    with pytest.raises(DatasetError, match="run_id 'zzz' is not in the trace"):
        replay_trace(path, run_id="zzz")
    replay = replay_trace(read_events(path), run_id=first.run_id)
    asyncio.run(replay.run())
    assert events_to_jsonl(replay.events) == events_to_jsonl(first.records)
