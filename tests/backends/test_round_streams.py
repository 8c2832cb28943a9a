"""Per-round streams seeded in blocks draw exactly what numpy's own seeding draws."""

from __future__ import annotations

import numpy as np
import pytest

from llmteams_lab.workloads.deliberation.streams import RoundStreams

STREAM = 0x51A7


def _numpy(seed: int, round: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed, round, STREAM]))


def _same_draws(a: np.random.Generator, b: np.random.Generator) -> bool:
    return np.array_equal(a.random(7), b.random(7)) and np.array_equal(a.standard_normal(5), b.standard_normal(5))


@pytest.mark.parametrize("seed", [0, 1, 6, 2**32 - 1, 2**32, 2**40, 2**64 + 3, 2**130 + 11])
def test_every_round_matches_numpys_seed_sequence(seed: int) -> None:
    streams = RoundStreams(seed, STREAM)
    rounds = [1, 2, 3, 17, 16, 18, 500, 0, 2, 2**31, 2**32 - 1, 2**32, 2**40]  # blocks, jumps, back, fallback
    for r in rounds:
        assert _same_draws(streams.generator(r), _numpy(seed, r)), (seed, r)


def test_many_consecutive_rounds_cross_block_boundaries() -> None:
    streams = RoundStreams(12345, STREAM)
    for r in range(1, 2_200, 7):
        assert _same_draws(streams.generator(r), _numpy(12345, r)), r


def test_a_round_redrawn_later_gives_the_same_numbers() -> None:
    streams = RoundStreams(9, STREAM)
    first = streams.generator(5).random(4)
    streams.generator(6).random(100)
    assert np.array_equal(streams.generator(5).random(4), first)
