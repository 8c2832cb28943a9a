"""Per-round random streams of the simulated agents, seeded in blocks of rounds.

The stream of round r is numpy's ``PCG64(SeedSequence([seed, r, stream]))``: keyed by
(seed, round), so a fork or replay at round k redraws exactly round k's numbers, and
which agents act never shifts anyone's draws. Building that SeedSequence and PCG64 anew
costs 10-20 µs a round, a tenth of a 1,000-agent simulated round.

So the SeedSequence hashing (O'Neill's ``seed_seq`` scheme as numpy implements it: a
4-word pool mixed with the entropy words, then 8 output words) runs for a block of
consecutive rounds at once, in numpy ``uint32`` arithmetic, and one PCG64 is re-seeded
per round by setting its state. The numbers are numpy's own, bit for bit: this is
checked against numpy's constructor when a stream is made, and numpy's constructor is
used instead if they ever differ or a round is outside ``[0, 2**32)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RoundStreams"]

_MASK32 = 0xFFFFFFFF
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875  # entropy mixing
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED  # output words
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4  # numpy's default pool size (words)
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG64's 128-bit LCG multiplier
_MASK128 = (1 << 128) - 1
_FIRST_BLOCK, _MAX_BLOCK = 16, 1024  # rounds seeded at once (doubling up to the cap)


def _words(n: int) -> list[int]:
    """``n`` as little-endian 32-bit words, as numpy splits an entropy integer (0 -> [0])."""
    words = [n & _MASK32]
    n >>= 32
    while n:
        words.append(n & _MASK32)
        n >>= 32
    return words


def _constants(init: int, mult: int):
    """The hash constant's successive (xor, multiply) pairs: it is multiplied after each use."""
    h = init
    while True:
        nxt = (h * mult) & _MASK32
        yield np.uint32(h), np.uint32(nxt)
        h = nxt


def _hash(value: np.ndarray, pair) -> np.ndarray:
    value = value ^ pair[0]
    value *= pair[1]
    value ^= value >> np.uint32(16)
    return value


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = x * np.uint32(_MIX_L) - y * np.uint32(_MIX_R)
    result ^= result >> np.uint32(16)
    return result


def _seed_words(entropy: list[np.ndarray]) -> list[np.ndarray]:
    """The 8 output words of ``SeedSequence(entropy).generate_state(4, uint64)``, each an
    array over the block's rounds (``entropy``: one array of words per entropy word)."""
    size = entropy[0].size
    consts = _constants(_INIT_A, _MULT_A)
    pool = [_hash(entropy[i] if i < len(entropy) else np.zeros(size, np.uint32), next(consts))
            for i in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = _mix(pool[dst], _hash(pool[src], next(consts)))
    for src in range(_POOL, len(entropy)):
        for dst in range(_POOL):
            pool[dst] = _mix(pool[dst], _hash(entropy[src], next(consts)))
    out = _constants(_INIT_B, _MULT_B)
    return [_hash(pool[i % _POOL], next(out)) for i in range(8)]


def _pcg_state(words: tuple[int, ...]) -> tuple[int, int]:
    """PCG64's (state, increment) after seeding with the 8 words (numpy's
    ``pcg64_set_seed``: seed = words 0-3, sequence = words 4-7, as two uint64 each)."""
    u64 = [words[j] | (words[j + 1] << 32) for j in range(0, 8, 2)]
    seed, seq = (u64[0] << 64) | u64[1], (u64[2] << 64) | u64[3]
    inc = ((seq << 1) | 1) & _MASK128
    state = ((inc + seed) * _PCG_MULT + inc) & _MASK128  # two LCG steps from 0, seed added between
    return state, inc


class RoundStreams:
    """``generator(r)`` is round r's generator, positioned at the start of its stream.

    One Generator is re-seeded and returned for every round: finish a round's draws
    before asking for the next one (the simulated backend draws synchronously)."""

    def __init__(self, seed: int, stream: int):
        self.seed, self.stream = seed, stream
        self._bits = np.random.PCG64(0)
        self._generator = np.random.Generator(self._bits)
        self._block_start, self._block = 0, []
        self._next_size = _FIRST_BLOCK
        self._fast = seed >= 0 and stream >= 0 and self._agrees_with_numpy()

    def generator(self, round: int) -> np.random.Generator:
        if not (self._fast and 0 <= round <= _MASK32):
            return np.random.Generator(np.random.PCG64([self.seed, round, self.stream]))
        state, inc = _pcg_state(self._words(round))
        self._bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                            "has_uint32": 0, "uinteger": 0}
        return self._generator

    def _words(self, round: int) -> tuple[int, ...]:
        offset = round - self._block_start
        if not 0 <= offset < len(self._block):
            size = min(self._next_size, _MASK32 + 1 - round)
            self._next_size = min(2 * self._next_size, _MAX_BLOCK)
            rounds = np.arange(round, round + size, dtype=np.uint64).astype(np.uint32)
            entropy = [np.full(size, w, np.uint32) for w in _words(self.seed)]
            entropy += [rounds] + [np.full(size, w, np.uint32) for w in _words(self.stream)]
            self._block = list(zip(*(w.tolist() for w in _seed_words(entropy))))
            self._block_start, offset = round, 0
        return self._block[offset]

    def _agrees_with_numpy(self) -> bool:
        """Whether the block arithmetic reproduces numpy's seeding (checked on two rounds)."""
        for round in (1, 2):
            expected = np.random.PCG64([self.seed, round, self.stream]).state["state"]
            if _pcg_state(self._words(round)) != (expected["state"], expected["inc"]):
                return False
        return True
