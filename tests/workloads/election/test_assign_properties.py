"""An elected leader dividing work: whatever the seed, the team size, a leader crash or
lost messages, every task is done exactly once by a committed assignment and no
committed entry changes (Hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab.spec import election_team
from tests.support import agent_fault, checks_failed, of, run_all

SAFETY = ("committed_unchanged", "election_safety", "leader_completeness", "tasks_done_once")


@st.composite
def assigning_teams(draw):
    n = draw(st.integers(2, 6))
    ids = [f"a{i}" for i in range(n)]
    faults = []
    if draw(st.booleans()):
        faults.append({"kind": "drop", "probability": draw(st.sampled_from([0.05, 0.1, 0.3]))})
    kind = draw(st.sampled_from(["none", "crash", "crash_recover", "partition"]))
    start = draw(st.integers(5, 40))
    fault = agent_fault(draw, kind, ids, start, 30)  # a crash hits the leader (a0 leads first in many seeds) or a worker
    if fault is not None:
        faults.append(fault)
    work = {"parallel_fraction": draw(st.sampled_from([0.0, 0.5, 0.8])), "size": draw(st.integers(1, 10)),
            "work_jitter": draw(st.sampled_from([0.0, 0.5]))}
    spec = election_team(n, seed=draw(st.integers(0, 10**6)), duty="assign", work=work, max_rounds=150,
                         execution=draw(st.sampled_from(["asynchronous", "synchronous"])))
    return spec.replace(faults=faults)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=assigning_teams())
def test_every_task_is_done_once_by_a_committed_assignment(spec) -> None:
    run, events = run_all(spec)
    assert not (failed := checks_failed(events, SAFETY)), failed
    completed = [e.value for e in of(events, "TaskCompleted")]
    assert len(completed) == len(set(completed))
    if run.end_reason == "all_tasks_done":
        assert sorted(completed) == sorted(t.id for t in spec.task.work.dag)
