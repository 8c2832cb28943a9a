"""Consensus metrics checked on hand-built event frames (formulas in metrics.consensus)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from llmteams_lab.events import (
    AgentFailed,
    AgentReplied,
    AnswersTallied,
    RoundEnded,
    RunStarted,
)
from llmteams_lab.metrics import (
    answer_tallies,
    convergence,
    events_frame,
    rounds_to_consensus,
)


class Log:
    """Builds a run's events by hand, numbering ``seq``."""

    def __init__(self, run_id: str) -> None:
        self.run_id, self.rows = run_id, []

    def add(self, cls, round, agent=None, peer=None, **fields):
        self.rows.append(cls(self.run_id, round, len(self.rows), agent, peer, **fields))
        return self


def reply(log: Log, round: int, agent: str, value: str, truth: str = "A") -> None:
    log.add(AgentReplied, round, agent, value=value, correct=value == truth, tokens_in=10, tokens_out=2)


def debate_log() -> list:
    """r1: a=A b=A c=B (truth A), d failed; r2: all A; r3: a flips to B."""
    log = Log("run-1").add(RunStarted, 0)
    for agent, value in (("a", "A"), ("b", "A"), ("c", "B")):
        reply(log, 1, agent, value)
    log.add(AgentFailed, 1, "d", fault="timeout")
    log.add(RoundEnded, 1, value="A", correct=True)
    for agent in "abcd":
        reply(log, 2, agent, "A")
    log.add(RoundEnded, 2, value="A", correct=True, detail="consensus")
    for agent, value in (("a", "B"), ("b", "A"), ("c", "A"), ("d", "A")):
        reply(log, 3, agent, value)
    log.add(RoundEnded, 3, value="A", correct=True)
    return log.rows


def undecided_log() -> list:
    """Another run in the same frame: four options split, never agreeing, no decision."""
    log = Log("run-2")
    for r in (1, 2):
        for agent, value in (("x", "A"), ("y", "B"), ("z", "C"), ("w", "D")):
            reply(log, r, agent, value)
        log.add(RoundEnded, r)
    return log.rows


def entropy(*shares: float) -> float:
    return -sum(p * math.log2(p) for p in shares)


def test_convergence_formulas_per_round() -> None:
    conv = convergence(events_frame(debate_log() + undecided_log()))
    assert conv.columns == ["run_id", "round", "replies", "agreement", "entropy", "accuracy", "team_value",
                            "team_correct", "flips"]
    rows = conv.rows(named=True)
    r1, r2, r3, u1, u2 = rows
    assert (r1["run_id"], r1["round"], r1["replies"]) == ("run-1", 1, 3)  # the failed agent is not counted
    assert r1["agreement"] == pytest.approx(2 / 3)
    assert r1["entropy"] == pytest.approx(entropy(2 / 3, 1 / 3))
    assert r1["accuracy"] == pytest.approx(2 / 3)
    assert (r1["team_value"], r1["team_correct"], r1["flips"]) == ("A", True, 0)
    assert (r2["agreement"], r2["entropy"], r2["accuracy"], r2["flips"]) == (1.0, 0.0, 1.0, 1)  # c: B → A
    assert r3["agreement"] == 0.75 and r3["accuracy"] == 0.75 and r3["flips"] == 1  # a: A → B
    assert r3["entropy"] == pytest.approx(entropy(0.75, 0.25))
    assert (u1["run_id"], u1["agreement"], u1["entropy"], u1["accuracy"]) == ("run-2", 0.25, 2.0, 0.25)
    assert u1["team_value"] is None and u1["team_correct"] is None and u2["flips"] == 0


def test_rounds_to_consensus_is_the_first_unanimous_round_or_null() -> None:
    out = rounds_to_consensus(events_frame(debate_log() + undecided_log()))
    assert out.rows() == [("run-1", 2), ("run-2", None)]


def test_answer_tallies_count_agents_per_value() -> None:
    tallies = answer_tallies(events_frame(debate_log()))
    assert tallies.filter(pl.col("round") == 1).select("value", "correct", "count").rows() == [
        ("A", True, 2), ("B", False, 1)]


def test_aggregated_rows_give_the_same_convergence() -> None:
    log = Log("run-1").add(RunStarted, 0)
    log.add(AnswersTallied, 1, value="A", correct=True, count=2, tokens_in=20, tokens_out=4)
    log.add(AnswersTallied, 1, value="B", correct=False, count=1, tokens_in=10, tokens_out=2)
    log.add(RoundEnded, 1, value="A", correct=True)
    log.add(AnswersTallied, 2, value="A", correct=True, count=4, tokens_in=40, tokens_out=8)
    log.add(RoundEnded, 2, value="A", correct=True, detail="consensus")
    aggregated = convergence(events_frame(log.rows))
    per_agent = convergence(events_frame(debate_log())).filter(pl.col("round") <= 2)
    assert aggregated.drop("flips").equals(per_agent.drop("flips"))
    assert aggregated["flips"].null_count() == 2


def test_empty_frame_gives_empty_results() -> None:
    empty = events_frame([])
    assert convergence(empty).is_empty() and rounds_to_consensus(empty).is_empty()
