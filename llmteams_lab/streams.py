"""Simulated agents' per-round random streams, seeded a block of rounds at a time.

Simulated agents draw round *r* of a run from ``PCG64(SeedSequence([seed, r, stream]))``:
keyed by round, so a fork or a replay at round *r* redraws exactly round *r*'s numbers.
Seeding such a stream is the costliest part of a small team's round: ~10 µs in a tight
loop and 20–30 µs inside a run (``SeedSequence`` is many small steps, and a round's other
work has pushed them out of the caches) — a fifth of a 10-agent round.

:class:`RoundStreams` gives the same generators, but computes the seeds of a block of
coming rounds at once with numpy: ``SeedSequence``'s hash mixing of its entropy words
and the words it generates (NumPy's published algorithm, whose output NEP 19 keeps
stable), then PCG64's seeding step in 128-bit integer arithmetic; each round then only
sets that state on one reused bit generator. Everything is integer arithmetic, so the
states are exact on every machine; ``tests/workloads/test_streams.py`` checks them against
numpy's own for many seeds, rounds and streams. Anything outside the fast path (a
negative seed, a round beyond 2**32) is seeded by numpy itself.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["KeyedStreams", "RoundStreams", "pcg_state", "seed_words", "stream"]

_MASK32 = 0xFFFFFFFF
_MASK128 = (1 << 128) - 1
_POOL = 4  # SeedSequence's pool size, in 32-bit words
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875  # the entropy hash
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED  # the output hash
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG64's 128-bit LCG multiplier
_BLOCK = 64  # rounds seeded together when the last round is known (a run's budget)
_FIRST_BLOCK, _MAX_BLOCK = 32, 256  # without a last round: the first block, and the largest
_NO_WORDS = np.zeros((0, 8), dtype=np.uint32)
_PLACEHOLDER = np.random.SeedSequence(0)  # immutable: a new bit generator's first state, replaced before any draw


def stream(*key: int) -> np.random.Generator:
    """numpy's ``Generator(PCG64(SeedSequence(list(key))))``, one at a time: for keys that
    come once (no block of rounds to seed ahead). When every number of the key fits in 32
    bits it is handed to ``SeedSequence`` as an array of those words — exactly the entropy
    it makes of the list itself (one word per number under 2**32), so the same stream —
    which skips ~5 µs of its conversion."""
    if min(key) >= 0 and max(key) <= _MASK32:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(np.array(key, dtype=np.uint32))))
    return np.random.Generator(np.random.PCG64(list(key)))


def _words(value: int) -> list[int]:
    """``value`` as SeedSequence reads an integer: 32-bit words, least significant first."""
    out = [value & _MASK32]
    value >>= 32
    while value:
        out.append(value & _MASK32)
        value >>= 32
    return out


def _hash_constants(init: int, mult: int, uses: int) -> np.ndarray:
    """SeedSequence's multiplicative hash steps its constant with every use, whatever the
    data: the (xor, multiply) constants of its first ``uses`` uses, as a (uses, 2) array."""
    out, const = [], init
    for _ in range(uses):
        following = (const * mult) & _MASK32
        out.append((const, following))
        const = following
    return np.array(out, dtype=np.uint32)


_MAX_EXTRA_WORDS = 16  # entropy words beyond the pool (seeds up to 2**512: beyond, numpy seeds)
_HASH_A = _hash_constants(_INIT_A, _MULT_A, _POOL + _POOL * (_POOL - 1) + _POOL * _MAX_EXTRA_WORDS)
_HASH_B = _hash_constants(_INIT_B, _MULT_B, 2 * _POOL)
_OTHERS = [[d for d in range(_POOL) if d != src] for src in range(_POOL)]


def _hashed(values: np.ndarray, consts: np.ndarray) -> np.ndarray:
    """Row i of ``values`` hashed with the i-th constants of ``consts`` (uint32 arrays
    wrap: arithmetic modulo 2**32, as SeedSequence's)."""
    out = values ^ consts[:, :1]
    out *= consts[:, 1:]
    out ^= out >> 16
    return out


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = x * np.uint32(_MIX_L) - y * np.uint32(_MIX_R)
    result ^= result >> 16
    return result


def seed_words(entropy: np.ndarray) -> np.ndarray:
    """``SeedSequence(words).generate_state(4, np.uint64)`` as eight uint32 words (rows) for
    every column of ``entropy``, a (words, block) uint32 array. The hash's uses follow
    SeedSequence's order; uses that are independent of each other are one array operation."""
    words, size = entropy.shape
    pool = np.zeros((_POOL, size), dtype=np.uint32)
    pool[:min(words, _POOL)] = entropy[:_POOL]
    pool = _hashed(pool, _HASH_A[:_POOL])  # the pool from the first words (zeros past the entropy)
    k = _POOL
    for src in range(_POOL):  # mix every word into every other
        others = _OTHERS[src]
        hashed = _hashed(np.broadcast_to(pool[src], (_POOL - 1, size)), _HASH_A[k:k + _POOL - 1])
        pool[others] = _mix(pool[others], hashed)
        k += _POOL - 1
    for word in entropy[_POOL:]:  # the words past the pool, each into every pool word
        pool = _mix(pool, _hashed(np.broadcast_to(word, (_POOL, size)), _HASH_A[k:k + _POOL]))
        k += _POOL
    return _hashed(pool[[0, 1, 2, 3, 0, 1, 2, 3]], _HASH_B)  # generate_state(4, uint64), as uint32 words


def pcg_state(words: list[int]) -> tuple[int, int]:
    """PCG64's ``(state, inc)`` seeded with the eight uint32 words of :func:`seed_words`."""
    w0, w1, w2, w3, w4, w5, w6, w7 = words
    seed = ((w1 << 32 | w0) << 64) | (w3 << 32 | w2)  # the uint64 words are read little-endian
    inc = ((((w5 << 32 | w4) << 64) | (w7 << 32 | w6)) << 1 | 1) & _MASK128
    return ((inc + seed) * _PCG_MULT + inc) & _MASK128, inc  # srandom: step from 0, add the seed, step


class RoundStreams:
    """Round ``r``'s generator is ``Generator(PCG64([*before, r, *after]))``'s, exactly
    (see the module docstring): the simulated agents' streams are ``before = (seed,)``,
    ``after = (stream,)``. ``last_round``: no round after it will be asked for (the run's
    budget), so a short run seeds no more rounds than it has. The generator returned is
    reused: draw from it before asking for another round.

    A block keeps the seed words of its rounds (32 bytes a round); a round's PCG64 state
    is made from them when the round is asked for, so rounds seeded but never reached
    (an asynchronous agent's last block) cost only their share of the block's hashing."""

    def __init__(self, before: Sequence[int], after: Sequence[int] = (), last_round: int | None = None):
        self.before, self.after, self.last_round = tuple(before), tuple(after), last_round
        self._fast = all(isinstance(w, int) and w >= 0 for w in self.before + self.after)
        self._before = [w for v in self.before for w in _words(v)] if self._fast else []
        self._after = [w for v in self.after for w in _words(v)] if self._fast else []
        self._fast = self._fast and len(self._before) + len(self._after) + 1 <= _POOL + _MAX_EXTRA_WORDS
        self._first, self._words = 0, _NO_WORDS  # the block seeded: seed words (rows) of rounds first, first + 1 ...
        self._block = _FIRST_BLOCK if last_round is None else _BLOCK  # without a last round: 32, then doubling
        self._bits = np.random.PCG64(_PLACEHOLDER)  # (a SeedSequence made once: half the cost of PCG64(0))
        self._generator = np.random.Generator(self._bits)

    def generator(self, round: int) -> np.random.Generator:
        if not (self._fast and 0 <= round <= _MASK32):
            return stream(*self.before, round, *self.after)
        at = round - self._first
        if not 0 <= at < len(self._words):
            self._seed_block(round)
            at = 0
        state, inc = pcg_state(self._words[at].tolist())
        self._bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                            "has_uint32": 0, "uinteger": 0}
        return self._generator

    def _seed_block(self, first: int) -> None:
        """Seed rounds ``first`` onwards: a block of them, none past the last (a stream with
        no last round seeds 32 rounds first, then twice as many each time up to 256: hashing
        a block costs about as much as seeding five rounds one by one, whatever its size)."""
        last = min(first + self._block - 1, _MASK32)
        self._block = min(2 * self._block, _MAX_BLOCK)
        if self.last_round is not None and self.last_round >= first:
            last = min(last, self.last_round)
        at = len(self._before)
        entropy = np.empty((at + 1 + len(self._after), last + 1 - first), dtype=np.uint32)
        entropy[:] = np.array(self._before + [0] + self._after, dtype=np.uint32)[:, None]
        entropy[at] = np.arange(first, last + 1, dtype=np.uint32)
        self._adopt(first, seed_words(entropy).T.copy())

    def _adopt(self, first: int, words: np.ndarray, next_block: int | None = None) -> None:
        """Take a block seeded elsewhere: the (rounds, 8) seed words of rounds ``first`` on
        (``next_block``: the size of the block seeded after it, if not the current one)."""
        self._first, self._words = first, words
        if next_block is not None:
            self._block = next_block


class KeyedStreams:
    """The streams of each of ``n`` keys (agents, senders): ``generator(key, r)`` is
    ``Generator(PCG64([*before, key, r]))``'s. Each key's :class:`RoundStreams` is made on
    its first use; the first key to ask seeds the first block of every key's rounds in one
    hashing when the team is small (up to :data:`_TOGETHER` rounds in all: an asynchronous
    team's senders each used to hash a block of their own). A team of more than
    :data:`KEYED_UP_TO` keys seeds every draw alone (``stream``), as a key's streams hold
    up to ~8 KB (a block's seed words). The generator returned is reused: draw from it
    before asking for another."""

    def __init__(self, before: Sequence[int], n: int):
        self.before, self.n = tuple(before), n
        self._streams: dict[int, RoundStreams] | None = {} if n <= KEYED_UP_TO else None

    def generator(self, key: int, round: int) -> np.random.Generator:
        streams = self._streams
        if streams is None:
            return stream(*self.before, key, round)
        found = streams.get(key)
        if found is None:
            found = streams[key] = RoundStreams((*self.before, key))
            first_use = len(streams) == 1
            if first_use and found._fast and 0 <= key < self.n and 0 <= round <= _MASK32 - _FIRST_BLOCK:
                self._seed_every_key(round)
        return found.generator(round)

    def _seed_every_key(self, round: int) -> None:
        """Seed rounds ``round`` to ``round + 31`` of every key in one hashing (up to
        :data:`_TOGETHER` rounds: larger teams seed key by key, as they come)."""
        rounds = min(_FIRST_BLOCK, _TOGETHER // self.n)
        if self.n < 2 or rounds < 8:
            return
        before = [w for v in self.before for w in _words(v)]  # then the key (< n <= 4,096: one word), the round
        at = len(before)
        entropy = np.empty((at + 2, self.n * rounds), dtype=np.uint32)
        entropy[:at] = np.array(before, dtype=np.uint32)[:, None]
        entropy[at] = np.repeat(np.arange(self.n, dtype=np.uint32), rounds)
        entropy[at + 1] = np.tile(np.arange(round, round + rounds, dtype=np.uint32), self.n)
        words = seed_words(entropy).T.copy()
        streams = self._streams
        for key in range(self.n):
            found = streams.get(key)
            if found is None:
                found = streams[key] = RoundStreams((*self.before, key))
            found._adopt(round, words[key * rounds:(key + 1) * rounds], next_block=2 * _FIRST_BLOCK)


KEYED_UP_TO = 4_096  # keys that keep their own streams (see KeyedStreams)
_TOGETHER = 8_192  # rounds of all keys seeded in one hashing at most
