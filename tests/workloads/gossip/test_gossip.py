"""Gossip teams: every mode and both execution models reach everyone; rumour mongering
leaves a residue; peers are drawn right; the rules refuse values nobody told; safety
under faults (Hypothesis)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmteams_lab.backends import MockBackend
from llmteams_lab.messages import AgentReply
from llmteams_lab.metrics import check_run, events_frame, gossip_spread, gossip_summary
from llmteams_lab.spec import gossip_team
from llmteams_lab.workloads.gossip.peers import Others, pick
from tests.support import checks_failed, of, run_all


def checks(events) -> dict[str, bool]:
    return dict(check_run(events_frame(events)).select("check", "ok").rows())


@pytest.mark.parametrize("execution", ["synchronous", "asynchronous"])
@pytest.mark.parametrize("mode", ["push", "pull", "push_pull"])
def test_every_mode_reaches_everyone(mode: str, execution: str) -> None:
    run, events = run_all(gossip_team(40, seed=2, mode=mode, execution=execution))
    assert run.end_reason == "all_informed" and len(of(events, "Informed")) == 40
    assert all(checks(events).values())
    hows = {json.loads(e.detail)["how"] for e in of(events, "Informed")}
    assert hows <= {"source", "push", "pull"} and ("pull" in hows) == (mode != "push")
    state = run.state()
    assert state["a0"]["source"] and state["a0"]["hops"] == 0 and all(s["answer"] is not None for s in state.values())


def test_gossip_spreads_on_a_sparse_topology_with_a_larger_fanout() -> None:
    run, events = run_all(gossip_team(30, seed=4, topology="ring", fanout=2))
    assert run.end_reason == "all_informed"
    frame = events_frame(events)
    spread = gossip_spread(frame)
    assert spread["informed"].to_list()[-1] == 30 and spread["informed"].is_sorted()
    assert gossip_summary(frame)["rounds_to_all"][0] >= 14  # a ring needs ~n/2 hops, fanout or not


def test_rumour_mongering_stops_and_may_leave_a_residue() -> None:
    ends = [run_all(gossip_team(64, seed=s, ttl=2))[0] for s in range(6)]
    assert {r.end_reason for r in ends} <= {"all_informed", "gossip_ended"}
    assert any(r.end_reason == "gossip_ended" for r in ends)


def test_disagreeing_sources_and_what_the_team_ends_up_holding() -> None:
    run, events = run_all(gossip_team(32, seed=1, sources=3, profile={"competence": 0.4}))
    assert len([e for e in of(events, "Informed") if e.peer is None]) == 3
    value, correct = run.workload.outcome()
    assert value in run.workload.options and correct == (value == run.workload.question.answer)


def test_a_gossiper_may_not_hold_a_value_nobody_told_it() -> None:
    def liar(request):
        held = request.view.get("held") or ("B" if request.agent == "a3" else None)
        told = [r["value"] for r in request.view.get("rumours", ())]
        return AgentReply(request.agent, held or (told[0] if told else ("A" if request.agent == "a0" else None)))

    _, events = run_all(gossip_team(6, seed=1), MockBackend(liar))
    refused = of(events, "ActionRefused", agent="a3")
    assert refused and "nobody told it" in refused[0].detail
    assert all(checks(events).values())


def test_peers_are_distinct_out_neighbours_and_complete_graphs_need_no_lists() -> None:
    rng = random.Random(3)
    for _ in range(500):
        n, me = rng.randint(2, 12), rng.randrange(12)
        me = min(me, n - 1)
        us = [rng.random() for _ in range(rng.randint(1, n))]
        picked = pick(Others(me, n), us)
        assert picked == pick([j for j in range(n) if j != me], us)
        assert len(set(picked)) == len(picked) == min(len(us), n - 1) and me not in picked


@st.composite
def gossip_runs(draw):
    n = draw(st.integers(2, 24))
    ids = [f"a{i}" for i in range(n)]
    faults = []
    if draw(st.booleans()):
        faults.append({"kind": "drop", "probability": draw(st.sampled_from([0.1, 0.3]))})
    if draw(st.booleans()):
        faults.append({"kind": "crash", "agent": draw(st.sampled_from(ids)), "at_round": draw(st.integers(1, 10))})
    if draw(st.booleans()):
        faults.append({"kind": draw(st.sampled_from(["duplicate", "reorder", "corrupt"])), "probability": 0.3})
    spec = gossip_team(n, seed=draw(st.integers(0, 10**6)), mode=draw(st.sampled_from(["push", "pull", "push_pull"])),
                       fanout=draw(st.integers(1, min(3, n - 1))), sources=draw(st.integers(1, min(2, n))),
                       ttl=draw(st.sampled_from([None, 2, 5])), max_rounds=60,
                       execution=draw(st.sampled_from(["synchronous", "asynchronous"])))
    return spec.replace(faults=faults)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=gossip_runs())
def test_gossip_properties_hold_under_faults(spec) -> None:
    _, events = run_all(spec)
    assert not (failed := checks_failed(events)), failed
