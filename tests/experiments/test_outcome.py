"""A sweep row's outcome metrics equal the polars metrics of the same name."""

from __future__ import annotations

import polars as pl
import pytest

from llmteams_lab import FaultSpec, run_sync, team
from llmteams_lab.experiments.outcome import outcome_row
from llmteams_lab.metrics import convergence, message_loss, overhead, rounds_to_consensus


def _spec(logging: str, faults=()):
    spec = team(6, protocol="debate", competence=0.45, conformity=0.4, max_rounds=6, seed=3, logging=logging)
    return spec.replace(faults=faults)


@pytest.mark.parametrize(("logging", "faults"), [
    ("messages", ()),
    ("rounds", ()),
    ("messages", (FaultSpec(kind="drop", probability=0.3), FaultSpec(kind="crash", agent="a1", at_round=2))),
    ("rounds", (FaultSpec(kind="byzantine", agent="a0"),)),
    ("messages", (FaultSpec(kind="timeout", probability=0.3),)),
])
def test_row_matches_the_polars_metrics(logging, faults):
    result = run_sync(_spec(logging, faults))
    row = outcome_row(result.records, result.reason, result.decision, result.correct, result.rounds)
    # the engine's columnar view and a plain list of typed events give the same row
    assert row == outcome_row(list(result.records), result.reason, result.decision, result.correct, result.rounds)
    events = result.events
    conv = convergence(events).drop_nulls("replies")
    comm = overhead(events)
    assert row["agreement"] == pytest.approx(conv["agreement"][-1])
    assert row["accuracy_first"] == pytest.approx(conv["accuracy"][0])
    assert row["accuracy_last"] == pytest.approx(conv["accuracy"][-1])
    assert row["rounds_to_consensus"] == rounds_to_consensus(events)["rounds_to_consensus"][0]
    assert row["messages"] == comm["messages"].sum()
    calls = events.filter(pl.col("kind").is_in(["AgentReplied", "AnswersTallied", "AgentFailed"]))
    assert row["tokens"] == calls["tokens_in"].sum() + calls["tokens_out"].sum()
    loss = message_loss(events)
    assert row["dropped"] == loss["dropped"][0] and row["delivered"] == loss["delivered"][0]
    assert row["clock_s"] == events["t_end"].max()
    assert (row["decision"], row["correct"], row["rounds"]) == (result.decision, result.correct, result.rounds)
    if faults:
        assert row["faults_applied"] > 0


def test_both_logging_modes_give_the_same_row():
    rows = []
    for logging in ("messages", "rounds"):
        r = run_sync(_spec(logging))
        rows.append(outcome_row(r.records, r.reason, r.decision, r.correct, r.rounds))
    assert rows[0] == rows[1]
