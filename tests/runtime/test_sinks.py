"""Sinks: JSONL flushed every round, parquet written on close, callbacks per round."""

from __future__ import annotations

from polars.testing import assert_frame_equal

from llmteams_lab import CallbackSink, JsonlSink, MemorySink, Run, team
from llmteams_lab.datasets import ParquetSink, read_events, read_parquet
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.metrics import events_frame
from tests.support import aio, no_stop


@aio
async def test_jsonl_is_flushed_every_round_and_parquet_written_on_close(tmp_path) -> None:
    jsonl, parquet = tmp_path / "run" / "events.jsonl", tmp_path / "events.parquet"
    memory, rounds = MemorySink(), []
    sinks = [JsonlSink(jsonl), ParquetSink(parquet), memory, CallbackSink(lambda evs: rounds.append(len(evs)))]
    run = Run(no_stop(team(5, topology="ring", seed=3, max_rounds=4)), sinks=sinks)
    for _ in range(4):
        await run.step()
        assert jsonl.read_text(encoding="utf-8") == events_to_jsonl(run.events)
        assert not parquet.exists()
    await run.aclose()
    assert parquet.exists()
    assert_frame_equal(read_parquet(parquet), events_frame(run.events))
    assert_frame_equal(read_events(jsonl), events_frame(run.events))
    assert memory.events == run.events
    assert len(rounds) == 4 and sum(rounds) == len(run.events)


@aio
async def test_jsonl_sink_appends_to_an_existing_log(tmp_path) -> None:
    path = tmp_path / "log.jsonl"
    for seed in (1, 2):
        async with Run(team(3, seed=seed, max_rounds=1), sinks=[JsonlSink(path, fsync=True)]) as run:
            await run.run()
    frame = read_events(path)
    assert frame["run_id"].n_unique() == 2
