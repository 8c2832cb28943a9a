"""Per-message and aggregated logging describe the same run: identical metrics."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from llmteams_lab import team
from llmteams_lab.metrics import (
    convergence,
    events_frame,
    overhead,
    rounds_to_consensus,
)
from tests.support import no_stop, run_events

CASES = [
    no_stop(team(9, topology="complete", protocol="debate", competence=0.35, seed=5, max_rounds=6)),
    team(12, topology="ring", protocol="debate", competence=0.4, conformity=0.7, seed=8, max_rounds=8),
    team(8, topology="small_world", protocol="quorum", competence=0.4, seed=2, max_rounds=8),
    team(7, topology="star", protocol="majority", seed=1),
    team(6, topology="star", protocol="leader", seed=3),
]


def frames(spec):
    messages = events_frame(run_events(spec)).drop("run_id")
    rounds = events_frame(run_events(spec.replace(logging="rounds"))).drop("run_id")
    return messages, rounds


@pytest.mark.parametrize("spec", CASES, ids=[f"{s.protocol.kind}-{s.topology.kind}" for s in CASES])
def test_both_logging_modes_give_identical_metrics(spec) -> None:
    messages, rounds = frames(spec)
    assert len(rounds) < len(messages)
    with_run = lambda f: f.with_columns(run_id=pl.lit("r"))  # noqa: E731
    conv_m = convergence(with_run(messages)).drop("flips")
    conv_r = convergence(with_run(rounds))
    assert conv_r["flips"].null_count() == len(conv_r)  # flips need per-agent rows
    assert_frame_equal(conv_m, conv_r.drop("flips"))
    assert_frame_equal(overhead(with_run(messages)), overhead(with_run(rounds)))
    assert_frame_equal(rounds_to_consensus(with_run(messages)), rounds_to_consensus(with_run(rounds)))
    ends = lambda f: f.filter(pl.col("kind").is_in(["RoundEnded", "RunEnded"])).drop("seq")  # noqa: E731
    assert_frame_equal(ends(messages), ends(rounds))
