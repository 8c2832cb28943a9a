"""Round streams seeded in blocks are numpy's own ``PCG64(SeedSequence([seed, round,
stream]))``, number for number, whatever the seed's size, the round or the order the
rounds are asked for in."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmteams_lab.streams import KEYED_UP_TO, KeyedStreams, RoundStreams, stream


def _numpy(seed: int, round: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed, round, stream]))


@settings(max_examples=60, deadline=None)
@given(seed=st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 2**200)), stream=st.integers(0, 2**40),
       rounds=st.lists(st.integers(0, 300), min_size=1, max_size=12), last=st.none() | st.integers(0, 400))
def test_every_round_draws_what_numpy_draws(seed: int, stream: int, rounds: list[int], last: int | None) -> None:
    streams = RoundStreams((seed,), (stream,), last)
    for r in rounds:
        got = streams.generator(r)
        assert np.array_equal(got.random(5), (want := _numpy(seed, r, stream)).random(5))
        assert np.array_equal(got.standard_normal(3), want.standard_normal(3))  # the state goes on alike


def test_a_long_run_and_the_edges_of_the_fast_path() -> None:
    streams = RoundStreams((29,), (0x51A7,), 20)  # rounds past the budget (an asynchronous run's batches) still work
    for r in list(range(1, 200)) + [0, 2**32 - 1, 2**32, 2**40]:
        assert np.array_equal(streams.generator(r).random(4), _numpy(29, r, 0x51A7).random(4))
    huge = 2**600  # more entropy words than the fast path takes: numpy seeds it
    assert np.array_equal(RoundStreams((huge,), (3,)).generator(5).random(4), _numpy(huge, 5, 3).random(4))
    with pytest.raises(ValueError):  # what numpy says of a negative seed
        RoundStreams((-1,), (3,)).generator(1)



def test_any_words_before_and_after_the_round() -> None:
    """Other keyed streams (``[seed, stream, agent, turn]``, ``[seed, stream, sender, batch]``)."""
    for before, after in (((7, 0x11C5, 3), ()), ((2**33, 5, 0), (1,)), ((), (9,))):
        streams = RoundStreams(before, after, 40)
        for r in (1, 2, 39, 40, 41, 300):
            want = np.random.Generator(np.random.PCG64([*before, r, *after]))
            assert np.array_equal(streams.generator(r).random(3), want.random(3))


@pytest.mark.parametrize("key", [(0,), (1, 0x11C5, 3, 7), (2**32 - 1, 0, 2**31), (2**32, 5, 1), (7, 2**40, 0),
                                 (2**63 - 1, 2, 0x51A7)])
def test_a_stream_is_numpys_pcg64_seeded_with_the_key_as_a_list(key) -> None:
    expected = np.random.Generator(np.random.PCG64(list(key)))
    got = stream(*key)
    assert got.bit_generator.state == expected.bit_generator.state
    assert got.standard_normal(5).tolist() == expected.standard_normal(5).tolist()


@pytest.mark.parametrize("n", [5, KEYED_UP_TO + 1])  # own streams per key, and one-off seeding for many keys
def test_keyed_streams_draw_what_numpy_draws(n) -> None:
    streams = KeyedStreams((13, 0x11C5), n)
    for key, r in ((0, 0), (3, 0), (3, 1), (0, 1), (4, 70), (3, 2)):
        want = np.random.Generator(np.random.PCG64([13, 0x11C5, key, r])).random(3)
        assert np.array_equal(streams.generator(key, r).random(3), want)
    assert (streams._streams is None) == (n > KEYED_UP_TO)  # which path was taken


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 600), first=st.integers(0, 3), draws=st.lists(st.tuples(st.integers(0, 599),
                                                                         st.integers(0, 400)), max_size=10))
def test_every_key_seeded_together_draws_what_numpy_draws(n: int, first: int, draws: list[tuple[int, int]]) -> None:
    """The first key to ask seeds every key's first block in one hashing (small teams):
    each key's rounds, inside that block and past it, are still numpy's."""
    streams = KeyedStreams((2**40 + 3, 0x11C5), n)
    for key, r in [(0, first), *draws]:
        key %= n
        want = np.random.Generator(np.random.PCG64([2**40 + 3, 0x11C5, key, r]))
        assert np.array_equal(streams.generator(key, r).random(3), want.random(3))
