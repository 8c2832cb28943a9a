"""Topology arcs: exact for small cases, seeded random kinds reproducible."""

from __future__ import annotations

import pytest

from llmteams_lab import TeamSpec, team


def arcs(n: int, **topology) -> tuple[tuple[int, int], ...]:
    return TeamSpec.from_dict({"size": n, "seed": 0, "topology": topology}).arcs()


def undirected(*pairs: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted({p for a, b in pairs for p in ((a, b), (b, a))}))


def test_complete_is_every_ordered_pair() -> None:
    assert arcs(3, kind="complete") == ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1))
    assert len(arcs(10, kind="complete")) == 90


def test_star_links_the_hub_to_everyone() -> None:
    assert arcs(4, kind="star") == undirected((0, 1), (0, 2), (0, 3))
    assert arcs(4, kind="star", leader="a2") == undirected((2, 0), (2, 1), (2, 3))


def test_star_defaults_to_the_leader_agent() -> None:
    spec = team(4, topology="star", protocol="leader")
    assert spec.leader == "a0" and spec.arcs() == undirected((0, 1), (0, 2), (0, 3))
    spec = TeamSpec.from_dict({"agents": [{"id": "x"}, {"id": "y", "role": "leader"}, {"id": "z"}],
                               "topology": {"kind": "star"}, "protocol": {"kind": "leader"}})
    assert spec.arcs() == undirected((1, 0), (1, 2))


def test_ring_and_tiny_rings() -> None:
    assert arcs(4, kind="ring") == undirected((0, 1), (1, 2), (2, 3), (3, 0))
    assert arcs(2, kind="ring") == ((0, 1), (1, 0))
    assert arcs(1, kind="ring") == ()


def test_tree_is_breadth_first_from_the_root() -> None:
    assert arcs(6, kind="tree") == undirected((0, 1), (0, 2), (1, 3), (1, 4), (2, 5))
    assert arcs(5, kind="tree", branching=3, leader="a4") == undirected((4, 0), (4, 1), (4, 2), (0, 3))


def test_explicit_edges_directed_or_not() -> None:
    edges = [["a0", "a1"], ["a2", "a1"], ["a1", "a1"]]
    assert arcs(3, kind="edges", edges=edges, directed=True) == ((0, 1), (2, 1))
    assert arcs(3, kind="edges", edges=edges) == undirected((0, 1), (2, 1))


def test_erdos_renyi_extremes_and_reproducibility() -> None:
    assert arcs(5, kind="erdos_renyi", p=0.0) == ()
    assert arcs(5, kind="erdos_renyi", p=1.0) == arcs(5, kind="complete")
    one = arcs(12, kind="erdos_renyi", p=0.3, seed=5)
    assert one == arcs(12, kind="erdos_renyi", p=0.3, seed=5)
    assert one != arcs(12, kind="erdos_renyi", p=0.3, seed=6)
    assert all((b, a) in one for a, b in one)


def test_random_graph_follows_the_team_seed_unless_given_its_own() -> None:
    base = team(12, topology="erdos_renyi")
    assert base.arcs() == base.replace(seed=0).arcs()
    assert base.arcs() != base.replace(seed=1).arcs()
    pinned = base.replace(topology={"kind": "erdos_renyi", "seed": 7})
    assert pinned.arcs() == pinned.replace(seed=99).arcs()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_world_keeps_the_edge_count_and_is_reproducible(seed: int) -> None:
    n, k = 12, 4
    one = arcs(n, kind="small_world", k=k, p=0.4, seed=seed)
    assert one == arcs(n, kind="small_world", k=k, p=0.4, seed=seed)
    assert len(one) == n * k  # n·k/2 undirected edges, both directions; rewiring keeps the count
    assert all(a != b for a, b in one)


def test_small_world_without_rewiring_is_a_ring_lattice() -> None:
    assert arcs(6, kind="small_world", k=2, p=0.0) == arcs(6, kind="ring")
    lattice = arcs(6, kind="small_world", k=4, p=0.0)
    assert lattice == undirected(*[(i, (i + j) % 6) for i in range(6) for j in (1, 2)])


def test_small_world_rewiring_changes_the_graph_with_the_seed() -> None:
    graphs = {arcs(20, kind="small_world", k=4, p=0.5, seed=s) for s in range(4)}
    assert len(graphs) == 4
