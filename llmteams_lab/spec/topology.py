"""Who can message whom: the team's communication graph.

A topology is data (a kind plus parameters); :meth:`TopologySpec.arcs` turns it into
directed arcs between agent indices. Random kinds draw from ``random.Random(seed)`` —
never ``hash()`` — so the same seed gives the same graph in every process.
Undirected kinds yield both arcs of each edge, so a message along an edge is one arc.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

TOPOLOGIES = ("complete", "edges", "erdos_renyi", "ring", "small_world", "star", "tree")
MAX_DEGREE = 100_000  # branching / neighbours: never more than the largest team


@dataclass(frozen=True)
class TopologySpec:
    """The communication graph.

    kind        complete | star | ring | tree | erdos_renyi | small_world | edges
    leader      star hub / tree root (agent id); defaults to the first agent
    branching   children per node of a tree
    p           edge probability (erdos_renyi) or rewiring probability (small_world)
    k           neighbours per node before rewiring (small_world; even)
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
        known = set(ids)
        if self.leader is not None and self.leader not in known:
            raise SpecError(f"{path}.leader", f"must be an agent of the team {sorted(known)}", self.leader)
        for i, (a, b) in enumerate(self.edges):
            for name in (a, b):
                if name not in known:
                    raise SpecError(f"{path}.edges[{i}]", f"must name agents of the team {sorted(known)}",
                                    [a, b])
        if self.kind == "small_world" and len(ids) > 2 and self.k >= len(ids):
            raise SpecError(f"{path}.k", f"must be < the team size {len(ids)}", self.k)

    def arc_arrays(self, ids: Sequence[str], seed: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`arcs` as two arrays (senders, receivers) in the same order; a complete
        graph's n(n-1) arcs are made as arrays directly (no Python pair per arc)."""
        if self.kind == "complete":
            return _complete_arrays(len(ids))
        import numpy as np

        arcs = self.arcs(ids, seed)
        return (np.fromiter((a for a, _ in arcs), dtype=np.int64, count=len(arcs)),
                np.fromiter((b for _, b in arcs), dtype=np.int64, count=len(arcs)))

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
            undirected = _small_world(n, self.k, self.p, rng)
        else:
            index = {name: i for i, name in enumerate(ids)}
            pairs = {(index[a], index[b]) for a, b in self.edges if a != b}
            if self.directed:
                return tuple(sorted(pairs))
            undirected = pairs
        both = {(a, b) for a, b in undirected if a != b} | {(b, a) for a, b in undirected if a != b}
        return tuple(sorted(both))


def _complete_arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every arc of a complete graph, by sender then receiver: sender a's j-th receiver is
    j, or j + 1 from a on (skipping a itself)."""
    import numpy as np  # the spec package stays numpy-free to import

    src = np.repeat(np.arange(n, dtype=np.int64), max(n - 1, 0))
    j = np.tile(np.arange(max(n - 1, 0), dtype=np.int64), n)
    return src, j + (j >= src)


def _small_world(n: int, k: int, p: float, rng: random.Random) -> set[tuple[int, int]]:
    """Watts–Strogatz: a ring lattice of k neighbours, each edge rewired with prob. p.

    A rewired edge ``(a, b)`` moves to ``rng.choice`` of the agents not yet linked to
    ``a``; that sequence is :class:`_NotLinked` — the same elements, in the same order,
    as the list ``[x for x in range(n) if x != a and not linked]``, read in O(degree) —
    so a 100,000-agent graph is built in O(n·k), not O(n²), with the very same edges."""
    if n < 3:
        return {(0, 1)} if n == 2 else set()
    edges = {(i, (i + j) % n) for i in range(n) for j in range(1, k // 2 + 1)}
    present = {frozenset(e) for e in edges}
    linked: dict[int, set[int]] = {}
    for pair in present:
        a, b = tuple(pair)
        linked.setdefault(a, set()).add(b)
        linked.setdefault(b, set()).add(a)
    result = set()
    for a, b in sorted(edges):
        if rng.random() < p:
            candidates = _NotLinked(n, a, linked.get(a, set()))
            if len(candidates):
                new = rng.choice(candidates)
                if frozenset((a, b)) in present:
                    present.discard(frozenset((a, b)))
                    linked[a].discard(b)
                    linked[b].discard(a)
                present.add(frozenset((a, new)))
                linked.setdefault(a, set()).add(new)
                linked.setdefault(new, set()).add(a)
                result.add((a, new))
                continue
        result.add((a, b))
    return result


class _NotLinked:
    """``range(n)`` without ``a`` and the agents linked to it, as a read-only sequence."""

    def __init__(self, n: int, a: int, linked: set[int]):
        self.n = n
        self.skip = sorted(linked | {a})

    def __len__(self) -> int:
        return self.n - len(self.skip)

    def __getitem__(self, i: int) -> int:
        if not 0 <= i < len(self):
            raise IndexError(i)
        x = i
        for skipped in self.skip:  # ascending: each skipped agent at or below x shifts x up
            if skipped > x:
                break
            x += 1
        return x
