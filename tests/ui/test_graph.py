"""The team-graph widget's traits: layout, edges, colours, states and message flights."""

from __future__ import annotations

from llmteams_lab import team
from llmteams_lab.events import (
    AgentFailed,
    AgentReplied,
    FaultApplied,
    MessageDelivered,
    MessageDropped,
    MessageSent,
)
from llmteams_lab.plots import NO_ANSWER, answer_colors
from llmteams_lab.ui import RoundState, TeamGraph
from llmteams_lab.ui.graph import CRASHED, MAX_ANIMATED, layout_positions
from llmteams_lab.ui.history import next_state
from tests.support import aio


def _graph(spec, options=("A", "B", "C")) -> TeamGraph:
    g = TeamGraph()
    g.set_team(spec, options, "B")
    return g


def test_edges_are_the_topology_once_per_pair():
    g = _graph(team(6, topology="complete"))
    assert len(g.edges) == 15 and all(both for _, _, both in g.edges)
    ring = _graph(team(5, topology="ring"))
    assert sorted((a, b) for a, b, _ in ring.edges) == [(0, 1), (0, 4), (1, 2), (2, 3), (3, 4)]
    directed = team(3).replace(topology={"kind": "edges", "edges": [["a0", "a1"], ["a1", "a2"]], "directed": True})
    assert _graph(directed).edges == [[0, 1, False], [1, 2, False]]


def test_layout_puts_a_star_hub_in_the_centre_and_a_tree_in_layers():
    star = layout_positions(team(5, topology="star"))
    assert star[0] == [0.5, 0.5] and all(p != [0.5, 0.5] for p in star[1:])
    tree = layout_positions(team(7, topology="tree"))
    assert tree[0][1] < tree[1][1] == tree[2][1] < tree[3][1]
    ring = layout_positions(team(8, topology="ring"))
    assert len({tuple(p) for p in ring}) == 8 and all(0 <= v <= 1 for p in ring for v in p)


def test_nodes_are_coloured_by_answer_sized_by_confidence_and_greyed_when_crashed():
    spec = team(3)
    g = _graph(spec)
    palette = answer_colors(("A", "B", "C"))
    events = [AgentReplied("r", 1, 0, "a0", value="B", detail='{"confidence": 0.9}'),
              AgentReplied("r", 1, 1, "a1", value="C", detail='{"confidence": 0.4}'),
              FaultApplied("r", 1, 2, "a2", fault="crash")]
    state = next_state(RoundState.initial(spec.ids), spec.ids, 1, events, None, None)
    g.show(state)
    assert g.colors == [palette["B"], palette["C"], CRASHED]
    assert g.confidence == [0.9, 0.4, 0.0] and g.states == ["alive", "alive", "crashed"]
    assert g.faults == [[], [], ["crash"]] and g.round == 1 and g.palette == [palette[o] for o in "ABC"]


def test_round_messages_become_flights_with_their_fate():
    spec = team(3)
    g = _graph(spec)
    events = [MessageSent("r", 1, 0, "a0", "a1", value="A"), MessageDelivered("r", 1, 1, "a0", "a1", value="A"),
              MessageSent("r", 1, 2, "a1", "a2", value="B"),
              MessageDropped("r", 1, 3, "a1", "a2", value="B", fault="drop"),
              AgentFailed("r", 1, 4, "a2", fault="timeout", detail="slow")]
    state = next_state(RoundState.initial(spec.ids), spec.ids, 1, events, None, None)
    g.show(state)
    palette = answer_colors(("A", "B", "C"))
    assert g.messages == [[0, 1, "delivered", palette["A"], 0], [1, 2, "dropped", palette["B"], 1]], \
        "each dot has the colour of the answer it carries and points at its message"
    assert g.states == ["alive", "alive", "failed"]
    frame = g.frame
    g.show(state, animate=False)
    assert g.messages == [] and g.frame == frame + 1


def test_large_rounds_animate_an_even_sample():
    spec = team(20)
    g = _graph(spec)
    events = []
    for a in range(20):
        for b in range(20):
            if a != b:
                events += [MessageSent("r", 1, 0, f"a{a}", f"a{b}"), MessageDelivered("r", 1, 0, f"a{a}", f"a{b}")]
    g.show(next_state(RoundState.initial(spec.ids), spec.ids, 1, events, None, None))
    assert len(g.messages) == MAX_ANIMATED
    assert {m[0] for m in g.messages} == set(range(20)), "every sender is represented"


def test_aggregated_logging_animates_every_live_link():
    spec = team(4, topology="ring", logging="rounds")
    g = _graph(spec)
    events = [MessageSent("r", 1, 0, count=8)]
    state = next_state(RoundState.initial(spec.ids), spec.ids, 1, events, None, [True, True, True, False])
    g.show(state)
    assert state.aggregated_messages == 8
    assert sorted(m[:2] for m in g.messages) == [[0, 1], [1, 0], [1, 2], [2, 1]]


def test_a_big_complete_team_hides_its_links_and_says_so_and_shows_answer_shares():
    g = _graph(team(1000))
    assert g.edges == [] and g.hidden_links == 499_500 and "499,500 links not drawn" in g.note
    answers = ("A",) * 600 + ("B",) * 399 + (None,)
    state = RoundState(1, answers, (0.5,) * 1000, ("alive",) * 999 + ("crashed",), ((),) * 1000,
                       aggregated_messages=998_001)
    g.show(state)
    palette = answer_colors(("A", "B", "C"))
    assert g.shares == [["A", palette["A"], 600], ["B", palette["B"], 399], ["crashed", CRASHED, 1]]
    assert 0 < len(g.messages) <= MAX_ANIMATED


def test_partition_sides_reach_the_graph():
    spec = team(5)
    g = _graph(spec)
    detail = '{"groups": [["a0", "a1"], ["a2", "a3"]], "kind": "partition"}'
    events = [FaultApplied("r", 1, 0, None, fault="partition", value="start", detail=detail)]
    g.show(next_state(RoundState.initial(spec.ids), spec.ids, 1, events, None, None))
    assert g.partition == [0, 0, 1, 1, 2], "agents in no group form one more side"


def test_widget_ships_its_front_end_sources():
    g = TeamGraph()
    assert "export default { render }" in g._esm
    assert ".ltl-node" in g._css


def test_a_thousand_agents_sit_on_concentric_rings_far_enough_apart_to_click():
    import math

    pos = layout_positions(team(1000))
    assert len({tuple(p) for p in pos}) == 1000
    nearest = min(math.dist(a, b) for i, a in enumerate(pos[:300]) for b in pos[i + 1:])
    assert nearest * 292 > 3.5, "at least 3.5 px apart on the canvas (292 px across)"


@aio
async def test_coordination_roles_reach_the_graph_round_by_round():
    from llmteams_lab.spec import commit_team, election_team
    from llmteams_lab.ui import LabController

    ctl = LabController(election_team(5, seed=0, decisions=1, max_rounds=60))
    while not any(e.kind == "LeaderElected" for e in ctl.run.events):
        await ctl.step()
    elected = next(e for e in ctl.run.events if e.kind == "LeaderElected")
    g = TeamGraph()
    g.set_team(ctl.spec)
    assert g.roles == [] and g.badges == []  # round 0: nobody has a role yet
    g.show(ctl.history[-1])
    leader = g.agents.index(elected.agent)
    assert g.roles[leader] == "leader" and g.badges[leader] == f"♛ t{elected.value}"
    assert all(r in ("follower", "candidate") for k, r in enumerate(g.roles) if k != leader)
    assert all(b.endswith(f"t{elected.value}") for b in g.badges)
    from llmteams_lab.plots.style import ROLE_COLORS

    assert g.colors == [ROLE_COLORS[r] for r in g.roles]  # coloured by role, not by a (missing) answer
    assert {label: n for label, _, n in g.shares} == {r: g.roles.count(r) for r in set(g.roles)}
    assert [label for label, _ in g.legend][-1] == "crashed" and "leader" in [label for label, _ in g.legend]
    g.show(ctl.history[1])  # scrubbing back: the roles of that round, not the latest
    assert "leader" not in g.roles

    commit = LabController(commit_team(2, seed=1, max_rounds=40))
    await commit.step()
    await commit.step()
    g.set_team(commit.spec)
    g.show(commit.history[-1])
    assert g.roles[0] == "coordinator" and g.badges[0].startswith("coordinator: ")
    assert g.roles[1:] == ["participant", "participant"]
    assert [b.split(":")[0] for b in g.badges[1:]] == ["part1", "part2"]


def test_a_deliberating_team_has_no_roles_on_its_graph():
    g = _graph(team(4, seed=1))
    state = next_state(g_initial := RoundState.initial(g.agents), g.agents, 1, [],
                       {a: {"answer": "B", "confidence": 0.5} for a in g.agents}, None)
    g.show(state)
    assert g.roles == [] and g.badges == [] and g_initial.badges == ()
