"""Safety and liveness checks, and the shortest prefix that shows a violation."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab import team
from llmteams_lab.backends import MockBackend
from llmteams_lab.metrics import (
    check_agreement,
    check_run,
    check_termination,
    check_validity,
    events_frame,
    prefix,
)
from llmteams_lab.spec import FaultSpec, TeamSpec
from tests.support import no_stop, run_all


def frame(spec: TeamSpec, backend=None) -> pl.DataFrame:
    return events_frame(run_all(spec, backend)[1])


def verdicts(table: pl.DataFrame) -> dict[str, tuple]:
    return {row["check"]: (row["ok"], row["prefix_rounds"]) for row in table.iter_rows(named=True)}


def split_vote(request):
    """a4 answers a wrong option; everyone else the truth."""
    q = request.question
    return next(o for o in q.options if o != q.answer) if request.agent == "a4" else None


def test_correct_agents_that_disagree_violate_agreement_at_the_decision() -> None:
    events = frame(team(5, protocol="majority", backend="mock"), MockBackend(split_vote))
    out = check_agreement(events)
    assert verdicts(out) == {"agreement": (False, 1)}
    assert "a4='A'" in out["detail"][0] and "a0='" in out["detail"][0]
    faulty = frame(team(5, protocol="majority", backend="mock").replace(
        faults=[FaultSpec(kind="stubborn", agent="a4")]), MockBackend(split_vote))
    assert verdicts(check_agreement(faulty)) == {"agreement": (True, None)}  # a4 is not a correct agent


def test_liars_outvoting_the_honest_break_validity() -> None:
    spec = team(5, protocol="majority", backend="mock").replace(
        faults=[FaultSpec(kind="byzantine", group=("a0", "a1", "a2"))])
    events = frame(spec, MockBackend())
    assert verdicts(check_run(events, 1)) == {"agreement": (True, None), "termination": (True, None),
                                              "validity": (False, 1)}
    assert "which no correct agent proposed" in check_validity(events)["detail"][0]


def test_honest_agents_talked_into_a_lie_still_break_validity() -> None:
    spec = team(5, competence=1.0, conformity=1.0, max_rounds=4, seed=2).replace(
        faults=[FaultSpec(kind="byzantine", group=("a0", "a1", "a2"), lie="C")])
    events = frame(spec)
    assert verdicts(check_run(events, 4)) == {"agreement": (True, None), "termination": (True, None),
                                              "validity": (False, 2)}


def test_termination_within_k_rounds() -> None:
    stuck = no_stop(team(5, backend="mock", max_rounds=5))
    events = frame(stuck, MockBackend(split_vote))
    assert verdicts(check_termination(events, 3)) == {"termination": (False, 3)}
    assert verdicts(check_termination(events, 9)) == {"termination": (False, 5)}  # ended undecided
    assert verdicts(check_termination(prefix(events, events["run_id"][0], 2), 3)) == {"termination": (True, None)}
    quick = frame(team(5, backend="mock"), MockBackend())
    assert verdicts(check_termination(quick, 1)) == {"termination": (True, None)}
    with pytest.raises(ValueError, match=r"'k' must be an integer >= 1 \(got 0\)"):
        check_termination(quick, 0)


def test_a_later_fault_does_not_make_an_earlier_decision_unsafe() -> None:
    spec = team(5, protocol="quorum", backend="mock", max_rounds=4).replace(
        faults=[FaultSpec(kind="crash", agent="a4", at_round=3)])
    events = frame(spec, MockBackend(split_vote))
    assert verdicts(check_agreement(events)) == {"agreement": (False, 1)}


def test_aggregated_logs_cannot_tell_agreement_or_validity() -> None:
    events = frame(team(5, protocol="majority", logging="rounds"))
    assert verdicts(check_run(events, 2)) == {"agreement": (None, None), "termination": (True, None),
                                              "validity": (None, None)}


def test_checks_cover_every_run_of_a_frame() -> None:
    a = frame(team(5, protocol="majority", backend="mock").replace(name="one"), MockBackend(split_vote))
    b = frame(team(5, protocol="majority", backend="mock").replace(name="two"), MockBackend())
    out = check_run(pl.concat([a, b]), 1)
    assert out.filter(pl.col("check") == "agreement")["ok"].to_list() == [False, True]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 200), st.integers(0, 3), st.sampled_from(["debate", "quorum", "majority"]),
       st.integers(1, 6))
def test_a_violation_prefix_is_the_shortest_one(seed: int, liars: int, protocol: str, k: int) -> None:
    spec = team(5, protocol=protocol, seed=seed, competence=0.6, conformity=0.6, max_rounds=6)
    spec = spec.replace(faults=[FaultSpec(kind="byzantine", agent=f"a{i}") for i in range(liars)])
    events = frame(spec)
    run_id = events["run_id"][0]
    for row in check_run(events, k).iter_rows(named=True):
        if row["ok"] is not False:
            continue
        p = row["prefix_rounds"]
        again = verdicts(check_run(prefix(events, run_id, p), k))[row["check"]]
        assert again == (False, p)
        if p > 1:
            assert verdicts(check_run(prefix(events, run_id, p - 1), k))[row["check"]][0] is True
