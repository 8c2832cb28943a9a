"""Lockstep rows are the engine's rows: every field, for designs and seeds drawn by
Hypothesis across the lockstep path's whole scope (team sizes, topologies, agent
profiles, question kinds, round budgets, the stop rule), and designs outside it are
refused with the reason."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab import FaultSpec, team
from llmteams_lab.errors import ArgumentError
from llmteams_lab.experiments import lockstep
from llmteams_lab.experiments.lockstep import MAX_AGENTS, lockstep_refusal, lockstep_rows
from llmteams_lab.experiments.runner import _run_one, fast_spec

_TOPOLOGIES = ["complete", "ring", "star", "tree", "small_world", "erdos_renyi", "edges"]


def _engine_row(spec, quick: bool) -> dict:
    return asyncio.run(_run_one(spec, fast_spec(spec) if quick else None))


@st.composite
def designs(draw):
    n = draw(st.integers(2, 12))
    kind = draw(st.sampled_from(_TOPOLOGIES))
    topology = {"kind": kind}
    if kind == "small_world":
        topology |= {"k": 2, "p": draw(st.sampled_from([0.0, 0.3]))}
    elif kind == "erdos_renyi":
        topology |= {"p": draw(st.sampled_from([0.2, 0.6]))}
    elif kind == "edges":
        topology |= {"edges": [[f"a{i}", f"a{(i * 3 + 1) % n}"] for i in range(n)], "directed": draw(st.booleans())}
    if kind in ("small_world", "erdos_renyi") and draw(st.booleans()):
        topology["seed"] = draw(st.integers(0, 99))  # a fixed graph for every seed
    spec = team(n, protocol="debate", task=draw(st.sampled_from(["multiple_choice", "arithmetic"])),
                options=draw(st.integers(2, 6)), max_rounds=draw(st.integers(1, 12)),
                logging=draw(st.sampled_from(["messages", "rounds"])))
    profiles = st.fixed_dictionaries({
        "competence": st.floats(0, 1), "conformity": st.floats(0, 1), "confidence": st.floats(0, 1),
        "calibration": st.floats(0, 0.5), "latency_s": st.floats(0.001, 5), "latency_jitter": st.floats(0, 1),
        "prompt_tokens": st.integers(0, 500), "tokens_per_message": st.integers(0, 80),
        "reply_tokens": st.integers(0, 200)})
    agents = [a.replace(**draw(profiles)) for a in spec.agents] if draw(st.booleans()) else spec.agents
    return spec.replace(agents=tuple(agents), topology=topology,
                        protocol={"kind": draw(st.sampled_from(["debate", "debate", "majority", "weighted"])),
                                  "stop_at_consensus": draw(st.booleans())})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=designs(), seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=6, unique=True),
       quick=st.booleans())
def test_lockstep_rows_are_the_engines(spec, seeds, quick) -> None:
    assert lockstep_refusal(spec) is None
    got = lockstep_rows(spec, seeds)
    assert len(got) == len(seeds)
    for seed, row in zip(seeds, got):
        assert row == _engine_row(spec.replace(seed=seed), quick)


def test_the_sweep_benchmarks_design_over_many_seeds() -> None:
    """The 10-agent, 20-round debate of ``bench/sweep_scale.py``, 60 seeds in one batch."""
    spec = team(10, protocol="debate", max_rounds=20).replace(protocol={"kind": "debate", "stop_at_consensus": False})
    for seed, row in zip(range(60), lockstep_rows(spec, range(60))):
        assert row == _engine_row(spec.replace(seed=seed), True)


@pytest.mark.parametrize(("change", "why"), [
    ({"protocol": {"kind": "quorum"}}, "not a debate or a vote (majority, weighted)"),
    ({"protocol": {"kind": "leader"}, "topology": {"kind": "star"}}, "not a debate or a vote (majority, weighted)"),
    ({"task": {"kind": "custom", "prompt": "2 + 2?", "choices": ["3", "4"], "answer": "4"}},
     "not a generated deliberation question"),
    ({"execution": "asynchronous"}, "not synchronous rounds"),
    ({"faults": (FaultSpec(kind="drop", probability=0.1),)}, "faults injected"),
    ({"network": {"delay_s": 0.1}}, "network delays or mailboxes"),
    ({"budgets": {"max_rounds": 5, "max_tokens": 10_000}}, "budgets other than rounds"),
])
def test_designs_outside_the_scope_are_refused_with_the_reason(change, why) -> None:
    spec = team(4, protocol="debate").replace(**change)
    assert lockstep_refusal(spec) == why
    with pytest.raises(ArgumentError, match=re.escape(why)):
        lockstep_rows(spec, [1])


def test_priced_mocked_and_point_to_point_agents_are_refused() -> None:
    spec = team(4, protocol="debate")
    priced = spec.replace(agents=tuple(a.replace(usd_per_mtok_in=1.0) for a in spec.agents))
    assert lockstep_refusal(priced) == "priced agents"
    told = spec.replace(agents=(spec.agents[0].replace(recipients=("a1",)), *spec.agents[1:]))
    assert lockstep_refusal(told) == "point-to-point messages"
    assert lockstep_refusal(team(4, protocol="debate", backend="mock")) == "agents other than simulated"
    assert lockstep_refusal(team(MAX_AGENTS + 1, protocol="debate")) == f"more than {MAX_AGENTS} agents"
    assert lockstep_refusal(spec, [1, 2**32]) == "a seed of 2**32 or more"


def test_a_batch_larger_than_a_chunk_gives_each_seed_its_own_row(monkeypatch) -> None:
    """Seeds are played a chunk at a time (bounded memory): the rows do not depend on
    where the chunks fall, nor on the other seeds of a batch."""
    spec = team(5, protocol="debate", max_rounds=6)
    whole = lockstep_rows(spec, range(7))
    monkeypatch.setattr(lockstep, "_SEEDS_AT_ONCE", 3)
    assert lockstep_rows(spec, range(7)) == whole
    assert lockstep_rows(spec, [4]) == [whole[4]]
    assert [r["run_id"] for r in whole] == [f"team-{spec.replace(seed=s).fingerprint()}" for s in range(7)]
    assert list(whole[0]) == list(_engine_row(spec.replace(seed=0), True))  # the same columns, in the same order
