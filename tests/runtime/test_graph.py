"""Array-built topologies: the numpy small world is the reference's, edge for edge,
has the Watts–Strogatz degree and rewiring properties, and is the same in every process."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys

import numpy as np
import pytest

from llmteams_lab import TeamSpec
from llmteams_lab.runtime.graph import small_world_arcs
from llmteams_lab.runtime.network import team_arcs
from llmteams_lab.spec import smallworld


def reference_arcs(n: int, k: int, p: float, seed: int) -> list[tuple[int, int]]:
    edges = smallworld.hashed(n, k, p, seed)
    return sorted({(a, b) for a, b in edges} | {(b, a) for a, b in edges})


@pytest.mark.parametrize("n, k, p, seed", [
    (12, 10, 0.3, 0),        # dense: most proposals collide, some edges fall back to the lattice
    (50, 4, 0.5, 3),
    (500, 10, 0.3, 7),
    (2_000, 10, 1.0, 1),     # every edge rewired
    (1_000, 6, 0.0, 2),      # none rewired: the ring lattice
    (300, 10, 0.9, 2**62),   # a seed near the top of its range
])
def test_numpy_arcs_equal_the_reference_edge_for_edge(n: int, k: int, p: float, seed: int) -> None:
    src, dst = small_world_arcs(n, k, p, seed)
    assert list(zip(src.tolist(), dst.tolist())) == reference_arcs(n, k, p, seed)


def test_degrees_and_rewiring_fraction_are_those_of_watts_strogatz() -> None:
    n, k, p = 20_000, 10, 0.3
    src, dst = small_world_arcs(n, k, p, seed=5)
    assert src.size == n * k  # n·k/2 edges, both ways: no edge lost to a collision here
    assert not np.any(src == dst)
    arcs = src * n + dst
    assert np.all(np.diff(arcs) > 0)  # sorted by sender, then receiver, no duplicate arc
    assert np.array_equal(np.sort(dst * n + src), arcs)  # undirected: every arc has its reverse
    degree = np.bincount(src, minlength=n)
    assert degree.min() >= k // 2 and degree.mean() == k  # each agent keeps its own k/2 edge ends
    low, high = np.minimum(src, dst), np.maximum(src, dst)
    gap = (high - low) % n
    lattice = (gap <= k // 2) | (n - gap <= k // 2)
    moved = np.count_nonzero(~lattice[src < dst]) / (n * k // 2)
    sigma = math.sqrt(p * (1 - p) / (n * k // 2))
    assert abs(moved - p) < 5 * sigma + k / n  # a rewired edge may land on a lattice pair (prob ~ k/n)


def test_no_rewiring_is_the_ring_lattice() -> None:
    n, k = 1_000, 6
    src, dst = small_world_arcs(n, k, 0.0, seed=9)
    expected = sorted((i, (i + d) % n) for i in range(n) for d in (-3, -2, -1, 1, 2, 3))
    assert list(zip(src.tolist(), dst.tolist())) == expected


def test_seed_changes_the_graph_and_the_same_seed_repeats_it() -> None:
    one, again, other = (small_world_arcs(3_000, 10, 0.3, s) for s in (1, 1, 2))
    assert np.array_equal(one[1], again[1]) and not np.array_equal(one[1], other[1])


DIGEST = ("import hashlib, sys; from llmteams_lab.runtime.graph import small_world_arcs; "
          "s, d = small_world_arcs(30_000, 10, 0.25, 11); "
          "sys.stdout.write(hashlib.sha256(s.tobytes() + d.tobytes()).hexdigest())")


def test_the_graph_is_the_same_in_another_process() -> None:
    src, dst = small_world_arcs(30_000, 10, 0.25, 11)
    here = hashlib.sha256(src.tobytes() + dst.tobytes()).hexdigest()
    for hash_seed in ("0", "12345"):
        out = subprocess.run([sys.executable, "-c", DIGEST], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": hash_seed, "PYTHONPATH": ":".join(sys.path)})
        assert out.stdout == here


def test_a_team_above_the_legacy_size_runs_on_the_spec_s_own_graph() -> None:
    n = smallworld.LEGACY_MAX_AGENTS + 1
    spec = TeamSpec.from_dict({"size": n, "seed": 4, "topology": {"kind": "small_world", "k": 4, "p": 0.2}})
    src, dst = team_arcs(spec)
    assert list(zip(src.tolist(), dst.tolist())) == list(spec.arcs())  # the engine's graph is the spec's
    seeded = spec.replace(topology=spec.topology.replace(seed=8))
    assert np.array_equal(team_arcs(seeded)[1], small_world_arcs(n, 4, 0.2, 8)[1])  # topology.seed wins


def test_a_small_team_keeps_its_sequential_graph() -> None:
    spec = TeamSpec.from_dict({"size": 40, "seed": 3, "topology": {"kind": "small_world", "k": 4, "p": 0.5}})
    assert team_arcs(spec) == spec.arcs()
    assert list(spec.arcs()) != reference_arcs(40, 4, 0.5, 3)  # not the hashed construction
