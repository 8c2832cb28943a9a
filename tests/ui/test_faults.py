"""Fault actions: click an agent or a link in the graph, act, and see the engine obey."""

from __future__ import annotations

import math

from llmteams_lab import team
from llmteams_lab.ui.graph import CRASHED
from llmteams_lab.ui import Lab, LabController
from llmteams_lab.ui.faults import split_at
from tests.support import aio, no_stop
from tests.ui.helpers import GateBackend, until


def _lab(n: int = 5, topology: str = "complete", rounds: int = 12) -> Lab:
    return Lab(no_stop(team(n, topology=topology, competence=0.5, seed=4, max_rounds=rounds)), speed=math.inf)


async def _step(lab: Lab) -> None:
    r = lab.controller.round
    lab.controls.step.click()
    await until(lambda: lab.controller.round == r + 1 and not lab.controller.busy)


def test_partition_splits_the_team_at_the_clicked_link():
    assert split_at(team(6, topology="ring"), "a0", "a1") == (("a0", "a4", "a5"), ("a1", "a2", "a3"))
    left, right = split_at(team(6, topology="complete"), "a2", "a3")
    assert "a2" in left and "a3" in right and sorted(left + right) == [f"a{i}" for i in range(6)]
    assert abs(len(left) - len(right)) <= 1
    assert split_at(team(7, topology="tree"), "a0", "a1") == (("a0", "a2", "a5", "a6"), ("a1", "a3", "a4"))


@aio
async def test_clicking_a_node_and_crash_takes_it_down_from_the_next_round():
    lab = _lab()
    await _step(lab)
    lab.graph.selected = {"kind": "node", "agent": "a2"}  # what a click in the browser sets
    assert lab.faults.node_box in lab.faults.children and "a2" in lab.faults.title.value
    lab.faults.buttons["crash"].click()
    assert "crash injected" in lab.faults.message.value
    assert lab.graph.faults[2] == ["crash"], "marked at once, before the next round"
    assert lab.controller.notes[-1].kind == "injected" and lab.controller.notes[-1].agent == "a2"
    await _step(lab)
    state = lab.history[-1]
    assert state.states[2] == "crashed" and lab.graph.colors[2] == CRASHED
    assert lab.graph.states[2] == "crashed"
    kinds = {(e.kind, e.agent, e.fault) for e in lab.controller.run.events if e.round == 2}
    assert ("FaultApplied", "a2", "crash") in kinds and ("AgentFailed", "a2", "crash") in kinds
    assert "crash" in lab.fault_log.value and "a2" in lab.fault_log.value
    assert lab.errors.messages == []


@aio
async def test_straggler_and_byzantine_mark_the_agent_and_invalid_values_are_refused():
    lab = _lab()
    lab.graph.selected = {"kind": "node", "agent": "a1"}
    lab.faults.factor.value = 0.5
    lab.faults.buttons["straggler"].click()
    assert "&#x27;factor&#x27; must be a number &gt;= 1 (got 0.5)" in lab.faults.message.value
    assert lab.errors.messages == ["SpecError: 'factor' must be a number >= 1 (got 0.5)"]
    assert not any(n.kind == "injected" for n in lab.controller.notes)
    lab.faults.factor.value = 3.0
    lab.faults.buttons["straggler"].click()
    lab.faults.buttons["byzantine"].click()
    await _step(lab)
    assert lab.history[-1].faults[1] == ("byzantine", "straggler")
    assert lab.graph.faults[1] == ["byzantine", "straggler"]
    replies = {e.agent: e for e in lab.controller.run.events if e.kind == "AgentReplied"}
    assert replies["a1"].fault in ("byzantine", "straggler")


@aio
async def test_dropping_a_link_loses_its_messages_both_ways():
    lab = _lab()
    lab.graph.selected = {"kind": "edge", "agents": ["a0", "a1"]}
    assert lab.faults.edge_box in lab.faults.children
    lab.faults.buttons["drop"].click()
    await _step(lab)
    state = lab.history[-1]
    dropped = {(m.sender, m.receiver) for m in state.messages if m.status == "dropped"}
    assert dropped == {("a0", "a1"), ("a1", "a0")}
    assert lab.graph.link_faults == [[0, 1, "drop"]]
    assert "dropped" in lab.table.value and "2 messages dropped so far" in lab.fault_log.value


@aio
async def test_partition_cuts_links_until_it_heals():
    lab = _lab(n=6, topology="ring")
    lab.graph.selected = {"kind": "edge", "agents": ["a0", "a1"]}
    lab.faults.heal_after.value = 2
    lab.faults.buttons["partition"].click()
    await _step(lab)
    cut = {(a, b) for a, b, kind in lab.history[-1].links if kind == "partition"}
    assert ("a0", "a1") in cut and ("a2", "a3") not in cut
    crossing = [m for m in lab.history[-1].messages if {m.sender, m.receiver} in ({"a0", "a1"}, {"a3", "a4"})]
    assert crossing and all(m.status == "dropped" for m in crossing)
    await _step(lab)
    await _step(lab)  # round 3: healed
    assert lab.history[-1].links == () and lab.graph.link_faults == []


@aio
async def test_injected_faults_do_not_pause_play_but_a_round_in_flight_queues_them():
    gate = GateBackend()
    spec = no_stop(team(3, backend="mock", seed=1, max_rounds=5))
    ctl = LabController(spec, backends=gate, speed=math.inf)
    ctl.play()
    await until(gate.waiting.is_set)
    from llmteams_lab.spec.faults import FaultSpec

    ctl.inject(FaultSpec(kind="crash", agent="a1"))
    assert not any(n.kind == "injected" for n in ctl.notes), "queued until the round ends"
    gate.gate.set()
    await ctl.wait()
    assert ctl.round == 5 and ctl.errors == []
    assert [n.fault for n in ctl.notes if n.kind == "injected"] == ["crash"]
    assert ctl.history[-1].states == ("alive", "crashed", "alive")
    assert ctl.history[1].states[1] == "alive" and ctl.history[2].states[1] == "crashed"
