"""Lanes of streams are numpy's own ``Generator(PCG64([seed, round, stream]))``, number for
number: their PCG64 states, their uniforms and their normals, including the lanes whose
normals leave the ziggurat's fast path (redrawn by numpy) and the ziggurat's tail."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from llmteams_lab.errors import ArgumentError
from llmteams_lab.stream_lanes import _ziggurat, lane_draws, lane_states
from llmteams_lab.streams import pcg_state, seed_words

_WORD = st.integers(0, 2**32 - 1)


def _words(seed: int, rounds: np.ndarray, streams: np.ndarray) -> np.ndarray:
    """The (L, 8) seed words of the streams ``[seed, round, stream]``."""
    entropy = np.stack([np.full(len(rounds), seed), rounds, streams]).astype(np.uint32)
    return seed_words(entropy).T.copy()


def _numpy(seed: int, round: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed, round, stream]))


def _assert_numpy_draws(seed, rounds, streams, uniforms, normals) -> tuple[np.ndarray, np.ndarray]:
    u, z = lane_draws(_words(seed, rounds, streams), uniforms, normals)
    assert u.shape == (len(rounds), uniforms) and z.shape == (len(rounds), normals)
    assert u.dtype == z.dtype == np.float64
    for lane, (r, s) in enumerate(zip(rounds.tolist(), streams.tolist())):
        g = _numpy(seed, r, s)
        assert np.array_equal(u[lane], g.random(uniforms)), (seed, r, s)
        assert np.array_equal(z[lane], g.standard_normal(normals)), (seed, r, s)
    return u, z


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(st.lists(_WORD, min_size=8, max_size=8), min_size=1, max_size=50))
def test_states_are_pcg_state_of_every_row(rows: list[list[int]]) -> None:
    rows = rows + [[0] * 8, [2**32 - 1] * 8, [2**31] * 8, [2**31 + 5, 1, 2**32 - 2, 0, 2**31, 7, 2**32 - 1, 2**30]]
    hi, lo, inc_hi, inc_lo = lane_states(np.array(rows, dtype=np.uint32))
    assert all(a.dtype == np.uint64 and a.shape == (len(rows),) for a in (hi, lo, inc_hi, inc_lo))
    for i, row in enumerate(rows):
        state, inc = pcg_state(row)
        assert (int(hi[i]) << 64 | int(lo[i]), int(inc_hi[i]) << 64 | int(inc_lo[i])) == (state, inc)


@settings(max_examples=30, deadline=None)
@given(seed=_WORD, first=st.integers(0, 2**32 - 4_000), stream=_WORD, lanes=st.integers(1, 3_000),
       uniforms=st.integers(0, 60), normals=st.integers(0, 60))
@example(seed=1, first=0, stream=0, lanes=9_000, uniforms=30, normals=20)  # lanes in three chunks
@example(seed=2**32 - 1, first=2**32 - 4_000, stream=2**32 - 1, lanes=3_000, uniforms=60, normals=60)
def test_draws_are_numpys(seed: int, first: int, stream: int, lanes: int, uniforms: int, normals: int) -> None:
    rounds = np.arange(first, first + lanes)
    streams = (stream + np.arange(lanes) % 3) % 2**32  # a few streams per round, as a team's agents
    _assert_numpy_draws(seed, rounds, streams, uniforms, normals)


def test_the_fast_path_is_on() -> None:
    """numpy's normals follow the layout read off its generator (else every lane would be
    numpy's, still exact but slow): a lane of fast-path normals is drawn without numpy."""
    assert _ziggurat() is not None
    w, k = _ziggurat()
    assert w.shape == k.shape == (512,) and np.array_equal(w[:256], -w[256:]) and np.array_equal(k[:256], k[256:])
    assert (k[:256] > 2**51).sum() >= 250  # all but a layer or two take most magnitudes in one output


def _taken(seed: int, round: int, stream: int, uniforms: int, normals: int) -> list[tuple[int, int]]:
    """Per normal of the lane: (outputs numpy took, the layer of the first), numpy's own account."""
    g = _numpy(seed, round, stream)
    g.random(uniforms)
    out = []
    for _ in range(normals):
        before = g.bit_generator.state
        layer = int(g.bit_generator.random_raw()) & 0xFF
        g.bit_generator.state = before
        steps = 0
        probe = np.random.PCG64()
        probe.state = before
        g.standard_normal()
        while probe.state["state"] != g.bit_generator.state["state"]:
            probe.random_raw()
            steps += 1
        out.append((steps, layer))
    return out


def test_lanes_past_the_fast_path_and_the_tail() -> None:
    """Lanes with normals numpy draws from more than one output (wedges and the tail of
    layer 0), found by search with numpy's own account, are numpy's numbers."""
    seed, uniforms, normals = 20_240_611, 5, 60
    rounds, streams = np.arange(1_000), np.full(1_000, 3)
    _, z = _assert_numpy_draws(seed, rounds, streams, uniforms, normals)
    slow, tail = [], []
    for r in range(1_000):
        taken = _taken(seed, r, 3, uniforms, normals)
        if any(steps > 1 for steps, _ in taken):
            slow.append(r)
        if any(steps > 1 and layer == 0 for steps, layer in taken):
            tail.append(r)
    assert len(slow) > 200 and len(tail) >= 5, (len(slow), len(tail))
    assert np.abs(z[tail]).max() > np.abs(np.delete(z, slow, axis=0)).max()  # the tail: beyond every fast draw


@pytest.mark.parametrize(("uniforms", "normals"), [(0, 7), (9, 0), (0, 0), (1, 1), (30, 20)])
def test_either_kind_alone(uniforms: int, normals: int) -> None:
    _assert_numpy_draws(42, np.arange(5, 600), np.arange(595) % 10, uniforms, normals)


def test_no_lanes() -> None:
    u, z = lane_draws(np.zeros((0, 8), dtype=np.uint32), 3, 2)
    assert u.shape == (0, 3) and z.shape == (0, 2)
    assert all(a.shape == (0,) for a in lane_states(np.zeros((0, 8), dtype=np.uint32)))


@pytest.mark.parametrize(("words", "uniforms", "normals", "named"), [
    (np.zeros((4, 7), dtype=np.uint32), 1, 1, "'words'"),
    (np.zeros(8, dtype=np.uint32), 1, 1, "'words'"),
    (np.zeros((4, 8), dtype=np.int64), 1, 1, "'words'"),
    (np.zeros((4, 8), dtype=np.uint32), -1, 1, "'uniforms' must be an integer >= 0 (got -1)"),
    (np.zeros((4, 8), dtype=np.uint32), 1, 2.5, "'normals' must be an integer >= 0 (got 2.5)"),
])
def test_bad_input_is_named(words, uniforms, normals, named) -> None:
    with pytest.raises(ArgumentError, match=named.replace("(", r"\(").replace(")", r"\)")):
        lane_draws(words, uniforms, normals)


def test_numpy_draws_every_normal_when_its_layout_is_not_as_read(monkeypatch) -> None:
    """Should numpy's normals ever differ from the layout read off its generator, the
    normals are all numpy's (still its numbers, only slower)."""
    from llmteams_lab import stream_lanes

    monkeypatch.setattr(stream_lanes, "_ziggurat", lambda: None)
    _assert_numpy_draws(9, np.arange(40, 240), np.full(200, 4), 11, 13)
