"""Compare (without a browser): same seed, divergence from the states, one scrubber."""

from __future__ import annotations

import pytest

from llmteams_lab import team
from llmteams_lab.errors import ArgumentError
from llmteams_lab.ui.compare import Compare, first_divergence
from tests.support import aio


@aio
async def test_divergence_is_the_first_round_whose_answers_differ(tmp_path):
    cmp = Compare({"complete": team(7, competence=0.4, conformity=0.5, seed=1),
                   "ring": team(7, topology="ring", competence=0.4, conformity=0.5, seed=9)})
    assert {c.spec.seed for c in cmp.controllers.values()} == {1}  # the first design's seed for all
    d = await cmp.run()
    a, b = (c.history for c in cmp.controllers.values())
    assert d == 2 and a[1].answers == b[1].answers and a[2].answers != b[2].answers
    assert "First divergence: <b>round 2</b>" in cmp.banner.value and not cmp.jump.disabled
    cmp.jump.click()
    assert cmp.scrubber.value == 2 and all(g.round == 2 for g in cmp.graphs.values())
    assert all("ltl-diverged" in p._dom_classes for p in cmp.panels.values())
    cmp.scrubber.value = cmp.scrubber.max  # a design that ended earlier shows its last round
    assert {g.round for g in cmp.graphs.values()} == {len(a) - 1, len(b) - 1}
    assert cmp.export_html(tmp_path / "cmp.html").stat().st_size > 1_000_000


@aio
async def test_identical_designs_never_diverge():
    cmp = Compare([team(5, seed=2), team(5, seed=2)])
    assert await cmp.run() is None and cmp.jump.disabled
    assert "never diverge" in cmp.banner.value


def test_first_divergence_counts_a_run_that_ended_as_diverged():
    from llmteams_lab.ui.history import RoundState

    s0 = RoundState.initial(("a0",))
    assert first_divergence([[s0, s0], [s0, s0, s0]]) == 2


def test_two_to_four_designs():
    with pytest.raises(ArgumentError, match="'designs' must hold 2 to 4 team specs"):
        Compare([team(3)])
    with pytest.raises(ArgumentError, match="must be a TeamSpec"):
        Compare({"a": team(3), "b": "ring"})


@aio
async def test_reseed_runs_every_design_on_another_seed():
    cmp = Compare({"complete": team(7, competence=0.4, conformity=0.5, seed=2),
                   "ring": team(7, topology="ring", competence=0.4, conformity=0.5)})
    assert await cmp.run() is None  # seed 2: the same answers every round
    assert await cmp.reseed(1) == 2 and cmp.seed == 1
    assert {c.spec.seed for c in cmp.controllers.values()} == {1} and "seed 1" in cmp.head.value
    assert all(c.run.done for c in cmp.controllers.values())
