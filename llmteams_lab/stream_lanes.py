"""The first draws of many numpy random streams at once, exactly numpy's numbers.

Why: a lockstep sweep runs many seeds of one small design together, and every agent
round there starts a fresh stream ``Generator(PCG64(SeedSequence([seed, round,
stream])))`` to draw a few uniforms and normals. Setting a numpy generator per stream
costs ~3 µs; here the streams are *lanes* of arrays and every step of PCG64 is a few
numpy operations over all lanes at once.

How the numbers stay numpy's, bit for bit:

* PCG64 is integer arithmetic: its 128-bit state is a pair of uint64 arrays (uint64
  products and sums wrap modulo 2**64; the high half of a 64×64-bit product is built from
  32-bit halves). Each output steps the state ``s ← s·M + inc`` and then outputs the
  XSL-RR of the new state, as numpy does.
* ``random()`` is the top 53 bits of one output times 2**-53.
* ``standard_normal()`` is numpy's 256-layer ziggurat. One output gives, from its low
  bits up, a layer (8 bits), a sign (1 bit) and a 52-bit magnitude; when the magnitude is
  under the layer's threshold k the normal is ±magnitude·w[layer] (an exact IEEE product,
  whatever machine). The tables w and k are not copied from numpy: they are read off
  numpy's own generator at first use (:func:`_ziggurat`), by making PCG64 output chosen
  numbers next, and the layout is checked the same way. Any other draw (a magnitude at or
  past k, ~1.5 % of normals: numpy then draws more numbers, with ``exp``/``log``) is left
  to numpy: from a lane's first such normal on, numpy's own generator, set to the lane's
  state there, draws the lane's normals (with 20 normals, about a quarter of the lanes;
  this is then most of the cost). Should numpy ever draw differently, the check fails and
  every lane's normals are numpy's.

``tests/test_stream_lanes.py`` checks both functions against numpy's own generators for
many seeds, rounds and sizes, including lanes finished by numpy and the ziggurat's tail.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from llmteams_lab.errors import ArgumentError
from llmteams_lab.streams import _PCG_MULT

__all__ = ["lane_draws", "lane_states"]

_MASK64 = (1 << 64) - 1
_MASK128 = (1 << 128) - 1
_U32, _32 = np.uint64(0xFFFFFFFF), np.uint64(32)
_M_HI, _M_LO = np.uint64(_PCG_MULT >> 64), np.uint64(_PCG_MULT & _MASK64)
_M_LO_HI32, _M_LO_LO32 = np.uint64((_PCG_MULT & _MASK64) >> 32), np.uint64(_PCG_MULT & 0xFFFFFFFF)
_CHUNK = 4_096  # lanes stepped together: a chunk's arrays stay in the CPU's caches
_MAGNITUDE = (1 << 52) - 1
_TWO_TO_MINUS_53 = 2.0 ** -53


def _as_words(words: np.ndarray) -> np.ndarray:
    words = np.asarray(words)
    if words.ndim != 2 or words.shape[1] != 8 or words.dtype != np.uint32:
        raise ArgumentError("words", "must be an (L, 8) uint32 array of seed words (streams.seed_words(...).T)",
                            f"{words.dtype} array of shape {words.shape}")
    return words


def _pair(words: np.ndarray, high: int) -> np.ndarray:
    """The uint64 of words ``high`` (upper 32 bits) and ``high - 1`` (lower)."""
    return words[:, high].astype(np.uint64) << _32 | words[:, high - 1].astype(np.uint64)


def _step(hi: np.ndarray, lo: np.ndarray, inc_hi: np.ndarray, inc_lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PCG64's LCG step ``s·M + inc`` modulo 2**128 on (high, low) word arrays: the new
    high word is ``hi·M_lo + lo·M_hi + inc_hi``, plus the high half of ``lo·M_lo`` (from
    32-bit halves: a1·c1, the high halves of the cross products a0·c1 and a1·c0, and the
    carry of the middle sum), plus the carry of the low word's sum. In place on temporaries
    (this loop is the hot one)."""
    a1, a0 = lo >> _32, lo & _U32
    cross0, cross1 = a0 * _M_LO_HI32, a1 * _M_LO_LO32
    a0 *= _M_LO_LO32
    a0 >>= _32  # the middle sum: (a0·c0) >> 32, + the low halves of both cross products
    a0 += cross0 & _U32
    a0 += cross1 & _U32
    new_hi = a1
    new_hi *= _M_LO_HI32
    a0 >>= _32
    new_hi += a0
    cross0 >>= _32
    new_hi += cross0
    cross1 >>= _32
    new_hi += cross1  # the high half of lo·M_lo
    new_hi += hi * _M_LO
    new_hi += lo * _M_HI
    new_hi += inc_hi
    new_lo = lo * _M_LO
    new_lo += inc_lo
    new_hi += new_lo < inc_lo  # the low sum wrapped
    return new_hi, new_lo


def _output(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """PCG64's XSL-RR output of a state: (high ^ low) rotated right by the top 6 bits."""
    x = hi ^ lo
    rot = hi >> np.uint64(58)
    return x >> rot | x << (np.uint64(64) - rot)  # numpy shifts by 64 give 0 (rot = 0: x itself)


def lane_states(words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(L, 8) uint32 seed words -> PCG64 state_hi, state_lo, inc_hi, inc_lo (uint64 arrays of L),
    exactly :func:`streams.pcg_state` of each row: PCG64's seeding (``inc`` from words 4–7,
    the state stepped from ``inc +`` the seed of words 0–3) on word arrays."""
    words = _as_words(words)
    seed_hi, seed_lo = _pair(words, 1), _pair(words, 3)
    upper, lower = _pair(words, 5), _pair(words, 7)
    inc_hi = upper << np.uint64(1) | lower >> np.uint64(63)
    inc_lo = lower << np.uint64(1) | np.uint64(1)
    lo = inc_lo + seed_lo
    hi = inc_hi + seed_hi + (lo < seed_lo)
    hi, lo = _step(hi, lo, inc_hi, inc_lo)
    return hi, lo, inc_hi, inc_lo


class _Prober:
    """numpy's generator made to output a chosen 64-bit number next: the state after the
    step is that number (high word 0: no rotation, the output is the low word), the state
    before it is found by undoing the step (M is odd, so invertible modulo 2**128)."""

    INC = (0x5851F42D4C957F2D << 64 | 0x14057B7EF767814F) | 1
    UNSTEP = pow(_PCG_MULT, -1, 1 << 128)

    def __init__(self) -> None:
        self.bits = np.random.PCG64(0)
        self.generator = np.random.Generator(self.bits)

    def normal(self, number: int) -> tuple[float, bool]:
        """numpy's ``standard_normal()`` when the next output is ``number``, and whether it
        took that one output only."""
        before = ((number - self.INC) * self.UNSTEP) & _MASK128
        self.bits.state = {"bit_generator": "PCG64", "state": {"state": before, "inc": self.INC},
                           "has_uint32": 0, "uinteger": 0}
        x = float(self.generator.standard_normal())
        return x, self.bits.state["state"]["state"] == number

    def threshold(self, layer: int) -> int:
        """The smallest magnitude of ``layer`` that numpy does not take in one output (2**52
        if none): a binary search, as the magnitudes taken in one output are those below it."""
        fast, slow = -1, 1 << 52
        while slow - fast > 1:
            mid = (fast + slow) // 2
            if self.normal(mid << 9 | layer)[1]:
                fast = mid
            else:
                slow = mid
        return slow


@cache
def _ziggurat() -> tuple[np.ndarray, np.ndarray] | None:
    """numpy's ziggurat tables, read off its generator (a constant, computed once):
    ``w`` of 512 entries, index ``sign << 8 | layer``, so that the normal is
    ``magnitude × w`` (negating w negates the product exactly), and the thresholds ``k``
    (the same index; float64, which holds integers up to 2**53 exactly). None if numpy's
    normals do not follow this layout (checked with a random draw of each layer under k,
    with any top bits and either sign, and one at or past k)."""
    prober, rng = _Prober(), np.random.default_rng(0x5EED)
    k = [prober.threshold(layer) for layer in range(256)]
    w = [prober.normal(1 << 9 | layer)[0] if k[layer] > 1 else 0.0 for layer in range(256)]
    for layer in range(256):
        if k[layer] == 0:
            continue
        magnitude, sign, top = int(rng.integers(k[layer])), int(rng.integers(2)), int(rng.integers(8))
        x, one = prober.normal(top << 61 | magnitude << 9 | sign << 8 | layer)
        want = float(np.float64(magnitude) * np.float64(w[layer]))
        if not one or x != (-want if sign else want):
            return None
        if k[layer] < 1 << 52 and prober.normal(int(rng.integers(k[layer], 1 << 52)) << 9 | layer)[1]:
            return None
    signed = np.array(w + [-x for x in w], dtype=np.float64)
    return signed, np.array(k + k, dtype=np.float64)  # thresholds <= 2**52: exact as float64


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ArgumentError(name, "must be an integer >= 0", value)
    return int(value)


def lane_draws(words: np.ndarray, uniforms: int, normals: int) -> tuple[np.ndarray, np.ndarray]:
    """For each lane l, with g = numpy Generator over PCG64 with state/inc pcg_state(words[l]):
    U[l] = g.random(uniforms), then Z[l] = g.standard_normal(normals) from the same generator
    after the uniforms. Float64 arrays (L, uniforms), (L, normals), bit for bit numpy's.

    Lanes go ``_CHUNK`` at a time. From a lane's first normal that numpy draws from more
    than one output on, numpy's own generator draws the lane's normals (its state set to
    the lane's state at that point)."""
    words = _as_words(words)
    uniforms, normals = _count("uniforms", uniforms), _count("normals", normals)
    tables = _ziggurat() if normals else None
    u = np.empty((len(words), uniforms), dtype=np.float64)
    z = np.empty((len(words), normals), dtype=np.float64)
    for start in range(0, len(words), _CHUNK):
        part = slice(start, start + _CHUNK)
        hi, lo, inc_hi, inc_lo = lane_states(words[part])
        hi, lo = _uniforms(hi, lo, inc_hi, inc_lo, u[part])
        lanes, first, at_hi, at_lo = _normals(hi, lo, inc_hi, inc_lo, z[part], tables)
        _numpy_normals(z[part], lanes, first, (at_hi, at_lo, inc_hi[lanes], inc_lo[lanes]))
    return u, z


def _uniforms(hi: np.ndarray, lo: np.ndarray, inc_hi: np.ndarray, inc_lo: np.ndarray,
              u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill the lanes' uniforms ``u`` (L, n), one output at a time over all lanes; returns
    the state after them."""
    drawn = np.empty((u.shape[1], len(hi)), dtype=np.float64)  # output by output, then transposed
    for j in range(u.shape[1]):
        hi, lo = _step(hi, lo, inc_hi, inc_lo)
        top = (_output(hi, lo) >> np.uint64(11)).view(np.int64)  # 53 bits: int64 converts faster
        np.multiply(top.astype(np.float64), _TWO_TO_MINUS_53, out=drawn[j])
    u[:] = drawn.T
    return hi, lo


def _normals(hi: np.ndarray, lo: np.ndarray, inc_hi: np.ndarray, inc_lo: np.ndarray, z: np.ndarray,
             tables: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, ...]:
    """Fill the lanes' normals ``z`` (L, n) on the ziggurat's fast path, one output at a
    time over all lanes. Returns the lanes numpy must finish, each with the normal it
    must start from and the state before that normal's output."""
    if tables is None or z.shape[1] == 0:  # no normals, or numpy's not as read: numpy draws them all
        every = np.arange(len(hi)) if z.shape[1] else np.arange(0)
        return every, np.zeros(len(every), dtype=np.intp), hi[every], lo[every]
    w, k = tables
    slow, first = np.zeros(len(hi), dtype=bool), np.zeros(len(hi), dtype=np.intp)
    at_hi, at_lo = np.empty_like(hi), np.empty_like(lo)
    drawn = np.empty((z.shape[1], len(hi)), dtype=np.float64)
    for j in range(z.shape[1]):
        before_hi, before_lo = hi, lo
        hi, lo = _step(hi, lo, inc_hi, inc_lo)
        number = _output(hi, lo)
        index = (number & np.uint64(0x1FF)).view(np.int64)  # sign << 8 | layer
        magnitude = (number >> np.uint64(9) & np.uint64(_MAGNITUDE)).view(np.int64).astype(np.float64)
        np.multiply(magnitude, w.take(index), out=drawn[j])  # exact: magnitude < 2**52
        new = np.flatnonzero((magnitude >= k.take(index)) & ~slow)  # k as float64: exact too
        if len(new):
            slow[new], first[new], at_hi[new], at_lo[new] = True, j, before_hi[new], before_lo[new]
    z[:] = drawn.T
    lanes = np.flatnonzero(slow)
    return lanes, first[lanes], at_hi[lanes], at_lo[lanes]


def _numpy_normals(z: np.ndarray, lanes: np.ndarray, first: np.ndarray, states: tuple[np.ndarray, ...]) -> None:
    """numpy's own generator draws the normals of ``lanes`` from their ``first`` on, its
    state set to the lanes' ``states`` there (state and inc, as high and low words)."""
    if not len(lanes):
        return
    bits = np.random.PCG64(0)
    generator = np.random.Generator(bits)
    state = {"bit_generator": "PCG64", "state": {"state": 0, "inc": 1}, "has_uint32": 0, "uinteger": 0}
    inner = state["state"]
    for lane, j, hi, lo, inc_hi, inc_lo in zip(lanes.tolist(), first.tolist(), *(a.tolist() for a in states)):
        inner["state"], inner["inc"] = hi << 64 | lo, inc_hi << 64 | inc_lo
        bits.state = state
        generator.standard_normal(out=z[lane, j:])
