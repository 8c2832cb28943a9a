"""Two-phase commit is atomic and sagas compensate, whatever the seed, faults and team (Hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab.metrics import check_run, commit_outcomes, events_frame
from llmteams_lab.spec import commit_team
from tests.support import run_all


@st.composite
def commit_runs(draw, protocol: str):
    steps = draw(st.integers(1, 3))
    redundancy = draw(st.sampled_from([{}, {"replicas": 3}, {"backup": True}]))
    spec = commit_team(steps, protocol=protocol, seed=draw(st.integers(0, 10**6)), max_rounds=120,
                       failure_rate=draw(st.sampled_from([0.0, 0.2, 0.5])), timeout_s=draw(st.sampled_from([3.0, 8.0])),
                       execution=draw(st.sampled_from(["asynchronous", "synchronous"])), **redundancy)
    ids = spec.ids
    faults = []
    if draw(st.booleans()):
        faults.append({"kind": "drop", "probability": draw(st.sampled_from([0.1, 0.3]))})
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(1, 15))
        agent = draw(st.sampled_from(ids))
        if draw(st.booleans()):
            faults.append({"kind": "crash", "agent": agent, "at_round": start})
        else:
            faults.append({"kind": "crash_recover", "agent": agent, "start_round": start,
                           "end_round": start + draw(st.integers(1, 40))})
    if draw(st.booleans()):
        faults.append({"kind": draw(st.sampled_from(["duplicate", "reorder"])), "probability": 0.3})
    return spec.replace(faults=faults)


def _failures(spec) -> list:
    _, events = run_all(spec)
    frame = events_frame(events)
    verdicts = check_run(frame)
    return verdicts.filter(~verdicts["ok"]).select("check", "detail").rows(), commit_outcomes(frame)


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(spec=commit_runs("two_phase"))
def test_two_phase_commit_is_atomic_under_any_faults(spec) -> None:
    failed, outcome = _failures(spec)
    assert not failed, failed
    assert outcome["outcome"][0] in (None, "committed", "aborted")


@SETTINGS
@given(spec=commit_runs("saga"))
def test_an_aborted_saga_compensates_every_completed_step_under_any_faults(spec) -> None:
    failed, outcome = _failures(spec)
    assert not failed, failed
