"""Election safety whatever the seed, the faults and the team size (Hypothesis).

Safety — one leader per term, leaders hold every earlier commit, committed decisions
never change — must hold in every run; liveness is not asked of runs whose faults may
never let a majority talk (it is the benchmark's business, ``bench/election_failover.py``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab.spec import election_team
from tests.support import agent_fault, checks_failed, run_all

SAFETY = ("committed_unchanged", "election_safety", "leader_completeness")


@st.composite
def election_runs(draw):
    n = draw(st.integers(1, 7))
    ids = [f"a{i}" for i in range(n)]
    faults = []
    if draw(st.booleans()):
        faults.append({"kind": "drop", "probability": draw(st.sampled_from([0.05, 0.2, 0.4]))})
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["crash", "crash_recover", "partition", "duplicate", "delay"]))
        start = draw(st.integers(2, 40))
        fault = agent_fault(draw, kind, ids, start, 40)
        if fault is not None:
            faults.append(fault)
        elif kind == "duplicate":
            faults.append({"kind": "duplicate", "probability": 0.3, "start_round": start})
        elif kind == "delay":
            faults.append({"kind": "delay", "probability": 0.3, "extra_s": draw(st.sampled_from([0.5, 4.0])),
                           "start_round": start})
    spec = election_team(n, seed=draw(st.integers(0, 10**6)), decisions=draw(st.integers(0, 3)), max_rounds=90,
                         timeout_spread=draw(st.sampled_from([0.0, 0.3, 1.0])),
                         execution=draw(st.sampled_from(["asynchronous", "synchronous"])))
    return spec.replace(faults=faults)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=election_runs())
def test_election_safety_holds_under_any_faults(spec) -> None:
    _, events = run_all(spec)
    assert not (failed := checks_failed(events, SAFETY)), failed
