"""Watts–Strogatz small-world graphs: the exact rules, in plain Python.

Two constructions, chosen by the team size:

* up to :data:`LEGACY_MAX_AGENTS` agents, the original sequential one (:func:`sequential`):
  lattice edges visited in order, each rewired with probability p to an agent drawn
  from ``random.Random`` among those not yet linked. Every team that could be built
  before population-scale runs keeps exactly its graph (and so its events);
* above it, the *hashed* one (:func:`hashed`), defined so that numpy can build it in
  O(n·k) array operations (``runtime.graph`` does, for the engine) and this module can
  build the very same edges one by one (the reference; ``TeamSpec.arcs`` of a large
  team, and the test that the two agree). Every random number is an integer from a
  counter-based hash (splitmix64 of the seed, the edge and the attempt), so the graph
  depends on nothing but (n, k, p, seed) — not on the order of work, the platform or
  the float unit. p enters as the integer threshold ``int(p * 2**53)`` (exact).

The hashed rules. Agent i owns the lattice edges to i+1 .. i+k/2 (mod n); edge
e = i·(k/2) + (j-1) joins i and i+j. Edge e is rewired when ``draw(e, 0) >> 11`` is below
the threshold; the others are kept. Rewired edges then make attempts a = 1, 2, ... up
to :data:`ATTEMPTS`: edge e proposes ``i + 1 + draw(e, a) mod (n-1)`` (mod n; never i);
a proposal is accepted unless its pair is already taken (a kept edge or one accepted in
an earlier attempt), and among proposals of the same pair in one attempt the lowest e
wins. An edge still unplaced after the last attempt keeps its lattice pair, unless that
pair has been taken meanwhile (then it is dropped — vanishingly rare on large teams).
Every agent keeps its k/2 own edges' end at itself, so each has degree ≥ k/2 minus such drops.
"""

from __future__ import annotations

import random

__all__ = ["ATTEMPTS", "LEGACY_MAX_AGENTS", "MASK", "draw", "edge_count", "hashed", "sequential", "stream",
           "threshold"]

# Teams up to this size keep the sequential construction (their graphs, and every
# recorded run of them, stay exactly as they were); larger ones use the hashed one.
LEGACY_MAX_AGENTS = 10_000
ATTEMPTS = 16
MASK = 2**64 - 1
GOLDEN = 0x9E3779B97F4A7C15  # splitmix64's increment


def mix(z: int) -> int:
    """splitmix64's finaliser: a 64-bit integer to a well-mixed 64-bit integer."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def stream(seed: int, attempt: int) -> int:
    """The base of attempt ``attempt``'s draws (0: the rewiring decisions)."""
    return mix((seed * GOLDEN + attempt) & MASK)


def draw(base: int, edge: int) -> int:
    """Edge ``edge``'s 64-bit draw in the stream ``base``."""
    return mix((base + edge * GOLDEN) & MASK)


def threshold(p: float) -> int:
    """p as an integer out of 2**53 (exact: scaling by a power of two loses no bit)."""
    return int(p * 2**53)


def edge_count(n: int, k: int) -> int:
    """Undirected edges of a ring lattice of degree k (before rewiring)."""
    return n * (k // 2)


def hashed(n: int, k: int, p: float, seed: int) -> set[tuple[int, int]]:
    """The hashed small world's undirected edges ``(low, high)`` (module docstring)."""
    half, thr = k // 2, threshold(p)
    decide = stream(seed, 0)
    taken: set[tuple[int, int]] = set()
    pending: list[int] = []
    for e in range(n * half):
        if draw(decide, e) >> 11 < thr:
            pending.append(e)
        else:
            i = e // half
            taken.add(_pair(i, (i + e % half + 1) % n))
    for attempt in range(1, ATTEMPTS + 1):
        if not pending:
            break
        base, proposed, left = stream(seed, attempt), {}, []
        for e in pending:
            i = e // half
            pair = _pair(i, (i + 1 + draw(base, e) % (n - 1)) % n)
            if pair in taken or pair in proposed:
                left.append(e)
            else:
                proposed[pair] = e
        taken.update(proposed)
        pending = left
    for e in pending:
        i = e // half
        taken.add(_pair(i, (i + e % half + 1) % n))
    return taken


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def sequential(n: int, k: int, p: float, rng: random.Random) -> set[tuple[int, int]]:
    """Watts–Strogatz as first built: a ring lattice of k neighbours, each edge rewired
    with prob. p, in order, drawing from ``rng``.

    A rewired edge ``(a, b)`` moves to ``rng.choice`` of the agents not yet linked to
    ``a``; that sequence is :class:`_NotLinked` — the same elements, in the same order,
    as the list ``[x for x in range(n) if x != a and not linked]``, read in O(degree) —
    so the graph is built in O(n·k), not O(n²), with the very same edges."""
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
