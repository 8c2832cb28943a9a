"""Forks in the lab: a live run continues from round k; ending a fault bounds its window."""

from __future__ import annotations

import pytest

from llmteams_lab import Run, team
from llmteams_lab.errors import ArgumentError, LifecycleError
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.ui import LabController
from llmteams_lab.ui.forking import bounded, fork_run, forkable, recorded_spec
from tests.support import aio, no_stop


def test_bounded_turns_each_fault_into_one_that_has_ended():
    assert bounded(FaultSpec(kind="crash", agent="a1", at_round=2), 5) == \
        FaultSpec(kind="crash_recover", agent="a1", start_round=2, end_round=5)
    assert bounded(FaultSpec(kind="partition", groups=(("a0",),), at_round=2), 4).heal_round == 5
    assert bounded(FaultSpec(kind="straggler", agent="a1", factor=2.0, start_round=3), 6).end_round == 6
    assert bounded(FaultSpec(kind="byzantine", agent="a1", start_round=9), 6) is None, "never acted: undone"
    over = FaultSpec(kind="drop", link=("a0", "a1"), start_round=1, end_round=2)
    assert bounded(over, 6) is over
    with pytest.raises(ArgumentError, match="scheduled crash"):
        bounded(FaultSpec(kind="crash", agent="a1", probability=0.5), 3)


@aio
async def test_a_fork_of_a_live_run_stands_where_the_run_stood():
    spec = no_stop(team(5, seed=4, max_rounds=10, competence=0.5))
    async with Run(spec) as run:
        for _ in range(3):
            await run.step()
        run.inject(FaultSpec(kind="crash", agent="a2"))
        for _ in range(2):
            await run.step()
        full = recorded_spec(run.events, spec)
        assert [f.kind for f in full.faults] == ["crash"]
        fork = await fork_run(run.events, 5, full, run_id="f")
        assert fork.round == 5 and fork.state() == run.state()
        await fork.aclose()
    assert forkable(team(2, backend="replay")).agents[0].backend == "simulated"


@aio
async def test_the_controller_refuses_to_fork_a_future_round_or_a_round_logged_in_aggregate():
    ctl = LabController(no_stop(team(4, seed=1, max_rounds=5)))
    await ctl.step()
    with pytest.raises(ArgumentError, match=r"'at_round' must be a round of this run in \[0, 1\]"):
        await ctl.fork(3)
    big = LabController(team(120, seed=1, max_rounds=3))
    await big.step()
    assert not big.can_fork and ctl.can_fork, "the lab hides fork and recover where they could only fail"
    with pytest.raises(LifecycleError, match="aggregate"):
        await big.fork(1)
    await big.fork(0)
    assert big.round == 0 and len(big.timelines) == 1


@aio
async def test_the_faults_in_force_are_read_from_the_runs_log_without_rescanning_it():
    spec = no_stop(team(5, seed=4, max_rounds=10))
    spec = spec.replace(faults=(FaultSpec(kind="straggler", agent="a1", factor=2.0),))
    ctl = LabController(spec)
    await ctl.step()
    ctl.inject(FaultSpec(kind="crash", agent="a2"))
    await ctl.run_rounds(2)
    full = recorded_spec(ctl.run.events, ctl.run_spec)  # what reading the whole log gives
    assert ctl.faults_in_force() == list(full.faults) and len(full.faults) == 2
    assert ctl._recorded_spec() is ctl._recorded_spec(), "parsed once, kept until a fault starts"
    await ctl.fork(2)
    assert ctl.faults_in_force() == list(recorded_spec(ctl.run.events, ctl.run_spec).faults)


# --- asynchronous runs ---------------------------------------------------------------------------
NET = {"delay_s": 0.1, "jitter": 0.3, "tick_s": 1.0}


def async_team(faults=(), **changes):
    base = no_stop(team(6, protocol="debate", competence=0.5, conformity=0.5, seed=3, max_rounds=20))
    return base.replace(execution="asynchronous", network=NET, detector={"timeout_s": 2.0}, faults=list(faults),
                        **changes)


def same_events(a, b) -> bool:
    """Equal but for the run id and how an ended fault is named (a crash became a
    crash that recovers: same effect so far, another kind in the log)."""
    def norm(e):
        renamed = e.kind in ("RunStarted", "FaultApplied", "AgentFailed", "MessageDropped")
        return e._replace(run_id="", fault=None if renamed else e.fault, detail=None if renamed else e.detail)
    return len(a) == len(b) and all(norm(x) == norm(y) for x, y in zip(a, b))


@aio
async def test_an_async_run_forks_from_a_past_slice_and_keeps_its_timeline():
    ctl = LabController(async_team([FaultSpec(kind="straggler", agent="a2", factor=2.0)]))
    for _ in range(4):
        await ctl.step()
    original = list(ctl.run.events)
    old = await ctl.fork(2, async_team([FaultSpec(kind="straggler", agent="a2", factor=2.0)], seed=8))
    assert ctl.label == "fork 1 @ slice 2" and ctl.round == 2
    assert list(old.run.events)[:-1] == original and old.run.events[-1].detail == "closed", "kept, then closed"
    end = next(i for i, e in enumerate(original) if e.kind == "RoundEnded" and e.round == 2)
    assert same_events(ctl.run.events, original[: end + 1]) and ctl.history == old.history[:3]
    for _ in range(2):
        await ctl.step()
    assert ctl.round == 4 and ctl.errors == [] and ctl.run.events[0].detail != original[0].detail
    assert ctl.history[4].answers != old.history[4].answers or ctl.run.events[end + 1:] != original[end + 1:]


CROSSING = {"a0", "a1"}


@pytest.mark.parametrize("fault", [
    FaultSpec(kind="crash", agent="a1", at_round=2),
    FaultSpec(kind="partition", groups=(("a0", "a1"),), at_round=2),
    FaultSpec(kind="straggler", agent="a2", factor=4.0, start_round=2),
], ids=["recover a crash", "heal a partition", "undo a straggler"])
@aio
async def test_ending_a_fault_of_an_async_run_mid_slice_keeps_its_past_and_ends_the_fault(fault: FaultSpec):
    ctl = LabController(async_team([fault]))
    for _ in range(3):
        await ctl.step()
    for _ in range(4):
        await ctl.step(happenings=1)
    before, history = list(ctl.run.events), list(ctl.history)
    assert ctl.round == 4 and before[-1].kind != "RoundEnded", "stopped in the middle of slice 4"
    ended = await ctl.end_fault(fault)
    assert ended is not None and ended.last_round == 4 and ctl.errors == []
    assert same_events(ctl.run.events, before) and ctl.history == history, "the past is the recorded one"
    assert (ctl.notes[-1].kind, ctl.notes[-1].round) == ("ended", 5), "ended from the next slice"
    await ctl.step()  # the rest of slice 4, with the fault still in force
    assert ctl.round == 4 and len(ctl.history) == 5
    for _ in range(4):
        await ctl.step()
    after = [e for e in ctl.run.events if e.t_start >= 4.0]
    kinds = ("crash", "crash_recover", "partition", "straggler")
    acted = {e.kind: e for e in ctl.run.events if e.fault in kinds and 1.0 <= e.t_start < 4.0}  # while in force
    assert {"crash": "AgentFailed", "partition": "MessageDropped", "straggler": "AgentReplied"}[fault.kind] in acted
    if fault.kind == "crash":
        assert any(e.kind == "AgentReplied" and e.agent == "a1" for e in after), "a1 acts again"
        assert ctl.history[-1].states[1] != "crashed"
    elif fault.kind == "partition":
        across = [e for e in after if e.kind == "MessageDelivered" and (e.agent in CROSSING) != (e.peer in CROSSING)]
        dropped = [e for e in after if e.kind == "MessageDropped" and e.fault == "partition"]
        assert across and not dropped, "messages cross the healed partition"
    else:
        turns = [e for e in after if e.kind == "AgentReplied" and e.agent == "a2"]
        assert turns and all(e.fault != "straggler" for e in turns), "a2 is no longer slowed"
