"""An endpoint's limits kept by simulated agents, on the run's clock: replies wait, every
wait is a ``CallThrottled`` event on the microsecond grid, the limits hold between the
calls' real starts, and the same spec and seed give the same log."""

from __future__ import annotations

import json

import polars as pl
import pytest

from llmteams_lab import FaultSpec, run_sync, team
from llmteams_lab.events import on_time_grid
from llmteams_lab.spec import EndpointSpec, RateLimitSpec


def limited(limits: RateLimitSpec | None, n: int = 6, **kwargs):
    spec = team(n, protocol="debate", competence=0.5, seed=1, max_rounds=4, endpoint=EndpointSpec(limits=limits),
                **kwargs)
    return run_sync(spec)


def on_grid(t: float) -> bool:
    """On whole microseconds, up to the last bit of the sums the clock makes (deterministic)."""
    return abs(on_time_grid(t) - t) < 1e-9


def call_starts(result) -> pl.DataFrame:
    """Each reply's call: when it went (its wait's end, else when it was asked) and its tokens."""
    events = result.events
    waits = events.filter(pl.col("kind") == "CallThrottled").select("round", "agent", went="t_end")
    replies = events.filter(pl.col("kind") == "AgentReplied").select("round", "agent", "t_start", "t_end",
                                                                     "tokens_in", "tokens_out")
    joined = replies.join(waits, on=["round", "agent"], how="left")
    return joined.with_columns(pl.coalesce("went", "t_start").alias("went")).sort("went")


def test_without_limits_no_call_waits_and_the_log_is_unchanged() -> None:
    plain = run_sync(team(6, protocol="debate", competence=0.5, seed=1, max_rounds=4))
    unlimited = limited(RateLimitSpec())  # a table with no limit set changes nothing
    happenings = lambda r: r.events.filter(pl.col("kind") != "RunStarted").drop("run_id")  # noqa: E731 (spec apart)
    assert plain.rounds == 4 and happenings(plain).equals(happenings(unlimited))
    assert "CallThrottled" not in plain.events["kind"].to_list()


def test_requests_per_minute_space_the_calls_and_every_wait_is_an_event() -> None:
    result = limited(RateLimitSpec(rpm=60))  # one request a second, a bucket of one
    starts = call_starts(result)["went"].to_list()
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(starts, starts[1:]))
    waits = result.events.filter(pl.col("kind") == "CallThrottled")
    assert waits.height >= len(starts) - result.rounds  # all but (at most) each round's first call waited
    assert set(waits["value"].to_list()) <= {"rpm", "queue"}
    for row in waits.iter_rows(named=True):
        assert row["t_end"] > row["t_start"]
        assert on_grid(row["t_start"]) and on_grid(row["t_end"])
        assert json.loads(row["detail"])["tokens"] > 0


def test_a_limited_team_is_slower_but_decides_the_same() -> None:
    plain, slow = limited(None), limited(RateLimitSpec(concurrent=2, tpm=30_000))
    replies = lambda r: r.events.filter(pl.col("kind") == "AgentReplied").select("round", "agent", "value")  # noqa: E731
    assert replies(plain).equals(replies(slow))  # the same answers: only time changed
    assert slow.events["t_end"].max() > plain.events["t_end"].max()
    for row in slow.events.filter(pl.col("kind") == "AgentReplied").iter_rows(named=True):
        assert on_grid(row["t_end"])


@pytest.mark.parametrize("limits", [RateLimitSpec(concurrent=2), RateLimitSpec(tpm=20_000, burst_s=2.0)])
def test_the_limits_hold_between_the_calls_real_starts(limits: RateLimitSpec) -> None:
    calls = call_starts(limited(limits, n=8))
    went, ended = calls["went"].to_list(), calls["t_end"].to_list()
    if limits.concurrent is not None:
        for t in went:
            assert sum(1 for a, b in zip(went, ended) if a <= t + 1e-9 < b) <= limits.concurrent  # an ulp apart
    if limits.tpm is not None:
        rate, tokens = limits.tpm / 60, (calls["tokens_in"] + calls["tokens_out"]).to_list()
        capacity = max(rate * limits.burst_s, max(tokens))
        for i in range(len(went)):
            for j in range(i, len(went)):
                assert sum(tokens[i:j + 1]) <= capacity + rate * (went[j] - went[i]) + 1e-6


def test_a_stragglers_call_holds_its_slot_for_its_stretched_latency_and_its_wait_is_not_stretched() -> None:
    spec = team(4, protocol="debate", competence=0.5, seed=1, max_rounds=2, latency_jitter=0.0,
                endpoint=EndpointSpec(limits=RateLimitSpec(concurrent=1)))
    result = run_sync(spec.replace(faults=[FaultSpec(kind="straggler", agent="a0", factor=4.0)]))
    calls = call_starts(result).filter(pl.col("round") == 1)
    # one at a time, in agent order: a0 takes 4 s (1 s stretched 4x), then a1, a2, a3 1 s each
    assert calls.select("agent", "went", "t_end").rows() == [("a0", 0.0, 4.0), ("a1", 4.0, 5.0), ("a2", 5.0, 6.0),
                                                              ("a3", 6.0, 7.0)]
    waits = result.events.filter((pl.col("kind") == "CallThrottled") & (pl.col("round") == 1))
    assert waits.select("agent", "t_end", "value").rows() == [("a1", 4.0, "concurrent"), ("a2", 5.0, "concurrent"),
                                                              ("a3", 6.0, "concurrent")]


def test_the_same_spec_and_seed_give_the_same_log_byte_for_byte() -> None:
    first, second = limited(RateLimitSpec(rpm=90, concurrent=3)), limited(RateLimitSpec(rpm=90, concurrent=3))
    assert first.events.equals(second.events)


def test_asynchronous_teams_keep_the_limits_too() -> None:
    result = limited(RateLimitSpec(concurrent=1), n=4, execution="asynchronous")
    calls = call_starts(result)
    went, ended = calls["went"].to_list(), calls["t_end"].to_list()
    assert "CallThrottled" in result.events["kind"].to_list()
    assert all(e <= w + 1e-9 for e, w in zip(ended, went[1:]))  # one call at a time


def test_a_limited_run_cut_anywhere_resumes_into_the_uninterrupted_log(tmp_path) -> None:
    """Resuming re-executes the finished rounds, so the limiter's buckets and slots are
    where an uninterrupted run had them: the log is the same byte for byte."""
    from tests.runtime.test_resume import resume, whole_log

    spec = team(6, protocol="debate", competence=0.5, seed=1, max_rounds=4,
                endpoint=EndpointSpec(limits=RateLimitSpec(rpm=90, concurrent=3)))
    spec = spec.replace(protocol=spec.protocol.replace(stop_at_consensus=False))
    text = whole_log(spec, tmp_path / "whole.jsonl")
    assert b"CallThrottled" in text
    lines = text.split(b"\n")
    for i in range(1, len(lines), 7):
        path = tmp_path / "cut.jsonl"
        path.write_bytes(b"\n".join(lines[:i]) + b"\n")
        resume(path, spec=spec)
        assert path.read_bytes() == text, i
