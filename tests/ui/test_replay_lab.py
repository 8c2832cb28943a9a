"""The lab drives recorded runs too: our own logs and the paper's real traces."""

from __future__ import annotations

import pytest

from llmteams_lab import LifecycleError, Run, team
from llmteams_lab.datasets import replay_trace
from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import DatasetError
from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.ui import Lab
from tests.support import PAPER_DATA, aio

PAPER_DATA = PAPER_DATA


@aio
async def test_a_replayed_run_shows_the_same_rounds_as_the_live_one():
    live = await Run(team(5, competence=0.45, conformity=0.6, seed=4)).run()
    lab = Lab.replay(replay_trace(live.events))
    assert isinstance(lab.controller.run, ReplayRun)
    await lab.step()
    assert lab.controller.run.round == 1
    await lab.run()
    assert lab.controller.run.round == live.rounds
    cols = ["round", "agreement", "accuracy", "team_value", "messages", "tokens_in"]
    assert lab.summary().select(cols).equals(live.summary().select(cols))


@aio
async def test_faults_on_a_replay_are_refused_with_advice_and_reset_replays_again():
    live = await Run(team(5, competence=0.45, conformity=0.6, seed=4)).run()
    assert live.rounds > 1
    lab = Lab.replay(replay_trace(live.events))
    await lab.step()
    with pytest.raises(LifecycleError, match="fork it into a live run"):
        lab.controller.inject(FaultSpec(kind="crash", agent="a1"))
    await lab.controller.reset()
    assert lab.controller.run.round == 0 and not lab.controller.run.done
    await lab.run()
    assert lab.controller.run.round == live.rounds


@aio
async def test_a_trace_without_a_rebuildable_spec_cannot_be_drawn():
    live = await Run(team(3, seed=1)).run()
    records = [e._replace(detail="{}") if e.kind == "RunStarted" else e for e in live.records]
    trace = ReplayRun(records)
    assert trace.spec is None
    with pytest.raises(DatasetError, match="records no spec"):
        Lab.replay(trace)


@aio
async def test_a_paper_run_steps_in_the_lab():
    if not PAPER_DATA.is_dir():
        pytest.skip(f"the paper's data is not at {PAPER_DATA}")
    from llmteams_lab.datasets import load_paper_dataset

    ds = load_paper_dataset(PAPER_DATA)
    run_id = ds.run_ids[5]
    lab = Lab.replay(ds.replay(run_id))
    for _ in range(3):
        await lab.step()
    assert lab.controller.run.round == 3
    assert lab.summary().height == 3
    await lab.run()
    assert lab.controller.state == "finished"
    assert lab.controller.run.round == ds.replay(run_id).last_round
