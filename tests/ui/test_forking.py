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
