"""Who can message whom: the team's communication graph.

A topology is data (a kind plus parameters); :meth:`TopologySpec.arcs` turns it into
directed arcs between agent indices. Random kinds draw from ``random.Random(seed)`` —
never ``hash()`` — so the same seed gives the same graph in every process.
Undirected kinds yield both arcs of each edge, so a message along an edge is one arc.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec import smallworld
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace


TOPOLOGIES = ("complete", "edges", "erdos_renyi", "ring", "small_world", "star", "tree")
MAX_DEGREE = 100_000  # branching / neighbours (k = 100,000 on 100,000 agents is already 10¹⁰ arcs)


@dataclass(frozen=True)
class TopologySpec:
    """The communication graph.

    kind        complete | star | ring | tree | erdos_renyi | small_world | edges
    leader      star hub / tree root (agent id); defaults to the first agent
    branching   children per node of a tree
    p           edge probability (erdos_renyi) or rewiring probability (small_world)
    k           neighbours per node before rewiring (small_world; even). Up to 10,000
                agents a small world is rewired edge by edge as it always was; above,
                by seeded integer hashes, so numpy can build it (``spec.smallworld``)
    seed        graph seed; defaults to the team's seed
    edges       explicit ``[from, to]`` pairs of agent ids (kind = "edges")
    directed    whether explicit edges are one-way
    """

    kind: str = "complete"
    leader: str | None = None
    branching: int = 2
    p: float = 0.3
    k: int = 4
    seed: int | None = None
    edges: tuple[tuple[str, str], ...] = ()
    directed: bool = False

    _TUPLES = ("edges",)

    def __post_init__(self) -> None:
        c.one_of("kind", self.kind, TOPOLOGIES)
        c.optional(c.text, "leader", self.leader)
        c.int_at_least("branching", self.branching, 1, MAX_DEGREE)
        object.__setattr__(self, "p", c.number_in("p", self.p, 0, 1))
        c.int_at_least("k", self.k, 2, MAX_DEGREE)
        if self.k % 2:
            raise SpecError("k", "must be even", self.k)
        if self.seed is not None:
            c.int_at_least("seed", self.seed, 0)
        c.boolean("directed", self.directed)
        if not isinstance(self.edges, (list, tuple)):
            raise SpecError("edges", "must be a list of [from, to] pairs", self.edges)
        edges = tuple(tuple(e) if isinstance(e, list) else e for e in self.edges)
        for i, edge in enumerate(edges):
            if not (isinstance(edge, tuple) and len(edge) == 2 and all(isinstance(a, str) for a in edge)):
                raise SpecError(f"edges[{i}]", "must be a pair of agent ids", edge)
        object.__setattr__(self, "edges", edges)

    def replace(self, **changes: Any) -> "TopologySpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "TopologySpec":
        return from_dict(cls, data, path)

    def check_members(self, ids: Sequence[str], path: str = "topology") -> None:
        """Cross-check agent ids named by the topology against the team."""
        if self.kind == "small_world" and len(ids) > 2 and self.k >= len(ids):
            raise SpecError(f"{path}.k", f"must be < the team size {len(ids)}", self.k)
        if self.leader is None and not self.edges:
            return  # nothing named: no need for a set of every id
        known = set(ids)
        team = c.team_text(ids)
        if self.leader is not None and self.leader not in known:
            raise SpecError(f"{path}.leader", f"must be an agent of the team {team}", self.leader)
        for i, (a, b) in enumerate(self.edges):
            for name in (a, b):
                if name not in known:
                    raise SpecError(f"{path}.edges[{i}]", f"must name agents of the team {team}", [a, b])

    def arcs(self, ids: Sequence[str], seed: int) -> tuple[tuple[int, int], ...]:
        """Directed arcs ``(sender, receiver)`` between agent indices, sorted, no self-loops."""
        n = len(ids)
        hub = ids.index(self.leader) if self.leader is not None else 0
        rng = random.Random(self.seed if self.seed is not None else seed)
        undirected: set[tuple[int, int]] = set()
        if self.kind == "complete":
            return tuple((a, b) for a in range(n) for b in range(n) if a != b)
        if self.kind == "star":
            undirected = {(hub, b) for b in range(n) if b != hub}
        elif self.kind == "ring":
            undirected = {(i, (i + 1) % n) for i in range(n)} if n > 1 else set()
        elif self.kind == "tree":
            order = [hub] + [i for i in range(n) if i != hub]
            undirected = {(order[(j - 1) // self.branching], order[j]) for j in range(1, n)}
        elif self.kind == "erdos_renyi":
            undirected = {(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < self.p}
        elif self.kind == "small_world":
            undirected = smallworld.sequential(n, self.k, self.p, rng) if n <= smallworld.LEGACY_MAX_AGENTS \
                else smallworld.hashed(n, self.k, self.p, self.seed if self.seed is not None else seed)
        else:
            index = {name: i for i, name in enumerate(ids)}
            pairs = {(index[a], index[b]) for a, b in self.edges if a != b}
            if self.directed:
                return tuple(sorted(pairs))
            undirected = pairs
        both = {(a, b) for a, b in undirected if a != b} | {(b, a) for a, b in undirected if a != b}
        return tuple(sorted(both))

