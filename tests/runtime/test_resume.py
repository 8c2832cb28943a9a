"""Crash-safe logs and ``Run.resume``: a log cut anywhere — between rounds, inside a
round, inside a line — resumes into the log of an uninterrupted run, byte for byte for
simulated teams; recorded replies of other backends are never asked for again."""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path

import pytest

from llmteams_lab import JsonlSink, Run, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.datasets import ParquetSink, read_events, replay_trace
from llmteams_lab.errors import DatasetError
from llmteams_lab.runtime.logfile import UnfinishedLogWarning, finished_prefix, read_log
from llmteams_lab.spec import work_team
from tests.support import flaky_script, no_stop


def whole_log(spec, path: Path, backends=None) -> bytes:
    async def main() -> None:
        async with Run(spec, backends=backends, sinks=[JsonlSink(path)]) as run:
            await run.run()

    asyncio.run(main())
    return path.read_bytes()


def resume(path: Path, spec=None, backends=None, sinks=()) -> Run:
    async def main() -> Run:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnfinishedLogWarning)  # a cut inside a line is expected here
            run = await Run.resume(path, spec=spec, backends=backends, sinks=sinks)
        async with run:
            if not run.done:
                await run.run()
        return run

    return asyncio.run(main())


SPECS = {
    "debate with network faults": no_stop(team(6, topology="ring", max_rounds=7, seed=3)).replace(
        faults=[{"kind": "drop", "probability": 0.2}, {"kind": "duplicate", "agent": "a2"},
                {"kind": "crash", "agent": "a1", "at_round": 3}]),
    "consensus ends it early": team(5, seed=4, max_rounds=12, competence=0.7, conformity=0.8),
    "aggregated logging": no_stop(team(8, logging="rounds", max_rounds=5, seed=2)),
    "work division": work_team(3, p=0.5, seed=2, work={"eagerness": 0.3}),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_log_cut_anywhere_resumes_into_the_uninterrupted_log(tmp_path, name) -> None:
    spec = SPECS[name]
    text = whole_log(spec, tmp_path / "whole.jsonl")
    lines = text.split(b"\n")
    cuts = sorted({0, len(text)} | {len(b"\n".join(lines[:i])) + 1 for i in range(1, len(lines), 3)}
                  | {len(text) * k // 9 for k in range(1, 9)})  # line ends and mid-line points
    for cut in cuts:
        path = tmp_path / "cut.jsonl"
        path.write_bytes(text[:cut])
        resume(path, spec=spec)
        assert path.read_bytes() == text, (name, cut)


def test_a_resumed_run_asks_its_non_simulated_agents_only_for_the_new_rounds(tmp_path) -> None:
    spec = no_stop(team(5, topology="tree", backend="mock", seed=1, max_rounds=6))
    text = whole_log(spec, tmp_path / "whole.jsonl", MockBackend(flaky_script))
    kept = text[: text.index(b'"round":4,') - 50]  # inside round 3 or at its end
    path = tmp_path / "cut.jsonl"
    path.write_bytes(kept[: kept.rindex(b"\n") + 1])
    k, _ = finished_prefix(read_log(path).events)
    mock = MockBackend(flaky_script)
    parquet = ParquetSink(tmp_path / "all.parquet")
    resume(path, spec=spec, backends=mock, sinks=[parquet])
    assert path.read_bytes() == text
    assert {r.round for r in mock.calls} == set(range(k + 1, 7))  # rounds 1..k came from the log
    assert read_events(tmp_path / "all.parquet").equals(read_events(path))  # other sinks get the whole log


def test_resume_refuses_another_spec_and_a_log_the_spec_does_not_reproduce(tmp_path) -> None:
    spec = no_stop(team(4, max_rounds=4, seed=5))
    text = whole_log(spec, tmp_path / "whole.jsonl")
    path = tmp_path / "log.jsonl"
    path.write_bytes(text)
    with pytest.raises(DatasetError, match="was written by another spec"):
        resume(path, spec=spec.replace(seed=6))
    rows = [json.loads(line) for line in text.decode().splitlines()]
    replied = next(r for r in rows if r["kind"] == "AgentReplied" and r["round"] == 2)
    replied["value"] = "D" if replied["value"] != "D" else "A"  # a tampered round 2
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(DatasetError, match="re-running round 2 did not reproduce the log"):
        resume(path)


def test_a_log_with_a_live_injection_resumes_with_it(tmp_path) -> None:
    spec = no_stop(team(5, max_rounds=6, seed=2))
    path = tmp_path / "live.jsonl"

    async def live() -> None:
        async with Run(spec, sinks=[JsonlSink(path)]) as run:
            await run.step()
            await run.step()
            run.inject({"kind": "byzantine", "agent": "a3", "lie": "A"})
            await run.run()

    asyncio.run(live())
    text = path.read_bytes()
    path.write_bytes(text[: text.index(b'"round":5,')])
    resume(path)
    assert path.read_bytes() == text


def test_readers_drop_a_partial_last_line_with_a_warning_and_keep_the_rest(tmp_path) -> None:
    text = whole_log(no_stop(team(3, max_rounds=3, seed=1)), tmp_path / "whole.jsonl")
    path = tmp_path / "killed.jsonl"
    path.write_bytes(text[:-40])  # killed while writing the last line
    with pytest.warns(UnfinishedLogWarning, match="dropped a partial last line"):
        frame = read_events(path)
    assert frame.height == text.count(b"\n") - 1
    bad = tmp_path / "damaged.jsonl"
    bad.write_bytes(text[:200] + b"\n" + text)  # a broken line *before* the last is damage, not a kill
    with pytest.raises(DatasetError, match="line 1 is not JSON"):
        read_events(bad)


def test_a_half_written_round_is_not_replayed_as_if_it_had_finished(tmp_path) -> None:
    text = whole_log(no_stop(team(4, max_rounds=4, seed=1)), tmp_path / "whole.jsonl")
    path = tmp_path / "cut.jsonl"
    start_of_3 = text.index(b'"round":3,')
    path.write_bytes(text[: text.index(b"\n", start_of_3 + 400) + 1])  # round 3 started, not ended
    with pytest.warns(UnfinishedLogWarning, match="round 3 was cut off before it ended"):
        replay = replay_trace(path)

    async def main() -> int:
        await replay.run()
        return replay.round

    assert asyncio.run(main()) == 2 and replay.end_reason == "end_of_trace"
