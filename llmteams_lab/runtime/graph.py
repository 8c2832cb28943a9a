"""Topologies as arrays: the arcs of a large team built by numpy, never as Python pairs.

A million-agent small world has ten million arcs; as Python tuples that is ~1 GB and
tens of seconds before the first round. Here the same graphs come out as two int64
arrays (senders, receivers) sorted by sender then receiver — what
:class:`~llmteams_lab.runtime.network.Network` keeps anyway.

The small world above ``spec.smallworld.LEGACY_MAX_AGENTS`` agents follows the hashed
rules of :mod:`llmteams_lab.spec.smallworld` exactly (a test compares the two edge by
edge): every draw is a 64-bit integer from splitmix64 over (seed, attempt, edge), so the
arrays are the same on every machine. Integer arithmetic wraps modulo 2**64 in numpy's
uint64 arrays, as the reference masks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from llmteams_lab.spec import smallworld

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.spec import TeamSpec

__all__ = ["small_world_arcs", "team_arcs"]

_U = np.uint64


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (``smallworld.mix``, in place on a copy)."""
    z = z ^ (z >> _U(30))
    z *= _U(0xBF58476D1CE4E5B9)
    z ^= z >> _U(27)
    z *= _U(0x94D049BB133111EB)
    z ^= z >> _U(31)
    return z


def _draws(seed: int, attempt: int, edges: np.ndarray) -> np.ndarray:
    """``smallworld.draw(stream(seed, attempt), e)`` for every e of ``edges``."""
    base = _U(smallworld.stream(seed, attempt))
    return _mix(edges.astype(np.uint64) * _U(smallworld.GOLDEN) + base)


def team_arcs(spec: TeamSpec) -> Sequence[tuple[int, int]] | tuple[np.ndarray, np.ndarray]:
    """The team's arcs for :class:`~llmteams_lab.runtime.network.Network`: a complete
    graph's n(n-1) arcs and a large small world's (:func:`small_world_arcs`) as two arrays
    made by numpy (a complete graph's sender a's j-th receiver is j, or j + 1 from a on),
    any other graph's as the spec's pairs (``TeamSpec.arcs``) — a Python pair per arc is
    what a million-arc team costs most to set up."""
    n, topo = len(spec.agents), spec.topology
    if topo.kind == "small_world" and n > smallworld.LEGACY_MAX_AGENTS:
        return small_world_arcs(n, topo.k, topo.p, topo.seed if topo.seed is not None else spec.seed)
    if topo.kind != "complete":
        return spec.arcs()
    src = np.repeat(np.arange(n, dtype=np.int64), max(n - 1, 0))
    j = np.tile(np.arange(max(n - 1, 0), dtype=np.int64), n)
    return src, j + (j >= src)


def small_world_arcs(n: int, k: int, p: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashed small world's directed arcs (both ways of each edge), as (senders,
    receivers) sorted by sender, then receiver."""
    keys = _edge_keys(n, k, p, seed)  # sorted: the arcs low -> high in order
    low, high = keys // n, keys % n
    back = high * n + low
    back = back[np.argsort(high, kind="stable")]  # by (high, low): keys were sorted by low
    arcs = _merge(keys, back)
    return arcs // n, arcs % n


def _edge_keys(n: int, k: int, p: float, seed: int) -> np.ndarray:
    """The undirected edges as sorted unique keys ``low * n + high``."""
    half = k // 2
    e = np.arange(n * half, dtype=np.int64)
    owner, partner = e // half, (e // half + e % half + 1) % n
    rewired = (_draws(seed, 0, e) >> _U(11)) < _U(smallworld.threshold(p))
    taken = np.sort(_key(owner[~rewired], partner[~rewired], n))  # lattice pairs are distinct
    pending = e[rewired]
    for attempt in range(1, smallworld.ATTEMPTS + 1):
        if not pending.size:
            break
        i = pending // half
        offset = (_draws(seed, attempt, pending) % _U(n - 1)).astype(np.int64)
        keys = _key(i, (i + 1 + offset) % n, n)
        won = _winners(keys, taken)
        taken = _merge(taken, keys[won])
        placed = np.zeros(pending.size, dtype=bool)
        placed[won] = True
        pending = pending[~placed]
    if pending.size:  # unplaced after every attempt: back to its lattice pair (unless taken since)
        taken = _distinct(_merge(taken, np.sort(_key(owner[pending], partner[pending], n))))
    return taken


def _winners(keys: np.ndarray, taken: np.ndarray) -> np.ndarray:
    """Positions of the accepted proposals, in key order: a pair not taken, first
    proposed (lowest position) among equal ones. Sorting, not hashing: numpy's
    hash-based ``unique`` is ~50x slower on millions of int64s here, and sorted
    needles make ``searchsorted`` cache-friendly."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    first = np.ones(ranked.size, dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    return order[first & ~_member(ranked, taken)]


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two sorted arrays as one (a stable sort of two runs is a linear merge)."""
    return np.sort(np.concatenate([a, b]), kind="stable")


def _distinct(sorted_keys: np.ndarray) -> np.ndarray:
    keep = np.ones(sorted_keys.size, dtype=bool)
    keep[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return sorted_keys[keep]


def _key(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(a, b) * n + np.maximum(a, b)


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in the sorted array ``sorted_keys``."""
    if not sorted_keys.size:
        return np.zeros(keys.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[at] == keys
