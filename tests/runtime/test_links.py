"""Link delays (``runtime.links``): each sender's stream is numpy's
``PCG64(SeedSequence([seed, stream, sender, batch]))`` whatever the seed's size, and a
delay drawn with one value for every link equals the one drawn with that value per link."""

from __future__ import annotations

import numpy as np
import pytest

from llmteams_lab import Run, team
from llmteams_lab.runtime.links import _STREAM


def links_of(seed: int, **network):
    spec = team(4, topology="complete", seed=seed).replace(
        execution="asynchronous", network={"delay_s": 0.2, "jitter": 0.4, **network})
    return Run(spec).links


@pytest.mark.parametrize("seed", [0, 7, 2**32 - 1, 2**32, 2**63 - 1])
def test_each_broadcast_draws_from_the_senders_seeded_stream(seed) -> None:
    links = links_of(seed)
    for s, batch in ((0, 0), (2, 0), (2, 1), (2, 2), (3, 0)):
        expected = np.random.Generator(np.random.PCG64([seed, _STREAM, s, batch])).standard_normal(8)
        assert links.generator(s).standard_normal(8).tolist() == expected.tolist()


def test_a_link_with_the_default_delay_draws_what_the_default_draws() -> None:
    plain, fresh = links_of(3), links_of(3)
    named = links_of(3, links=[{"link": ["a0", "a1"], "delay_s": 0.2, "jitter": 0.4}])
    for s in range(4):
        receivers = [r for r in range(4) if r != s]
        got = named.delays(s, receivers, 1.0, named.generator(s))
        assert got.tolist() == plain.delays(s, receivers, 1.0, plain.generator(s)).tolist()
        assert got.tolist() == fresh.broadcast_delays(s, receivers, 1.0).tolist()
        assert (got > 0).all() and np.array_equal(got, np.round(got * 1e6) / 1e6)
