"""Which peers a gossiper contacts: ``fanout`` distinct out-neighbours drawn at random.

Pure and seeded: :func:`pick` turns ``k`` uniforms into ``k`` distinct picks from an
agent's out-list (sequential selection without replacement: the j-th uniform picks
among the out-neighbours not yet picked), so the same draws give the same peers on
every machine. Synchronous rounds draw one (n, k) table per round, row i for agent i —
an agent's peers never depend on who else gossips; asynchronous turns draw per
(agent, turn).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["Others", "pick", "round_table", "turn_uniforms"]

_STREAM = 0x6055


def pick(outs: Sequence[int], uniforms: Sequence[float]) -> list[int]:
    """``len(uniforms)`` distinct members of ``outs`` (all of them when there are fewer)."""
    if isinstance(outs, Others):
        return outs.pick(uniforms)
    left = list(outs)
    chosen = []
    for u in uniforms:
        if not left:
            break
        j = min(int(u * len(left)), len(left) - 1)
        chosen.append(left.pop(j))
    return chosen


class Others:
    """Agent ``me``'s out-neighbours on a complete graph of ``n`` — every other agent —
    without building the list (a 1,024-agent team would hold a million entries); picks
    as :func:`pick` does over ``[0 .. n-1]`` without ``me``."""

    __slots__ = ("me", "n")

    def __init__(self, me: int, n: int):
        self.me, self.n = me, n

    def __len__(self) -> int:
        return self.n - 1

    def pick(self, uniforms: Sequence[float]) -> list[int]:
        chosen: list[int] = []  # positions in the shrinking list of others, as sorted agent indices
        for u in uniforms:
            if len(chosen) >= self.n - 1:
                break
            j = min(int(u * (self.n - 1 - len(chosen))), self.n - 2 - len(chosen))
            for c in sorted(chosen):  # skip the agents already picked that sit at or before j
                if self._position(c) <= j:
                    j += 1
            chosen.append(j + (j >= self.me))
        return chosen

    def _position(self, agent: int) -> int:
        return agent - (agent > self.me)


def round_table(seed: int, round: int, n: int, k: int) -> np.ndarray:
    """The (n, k) uniforms of one synchronous round (row i: agent i's)."""
    return np.random.Generator(np.random.PCG64([seed, _STREAM, round])).random((n, k))


def turn_uniforms(seed: int, agent: int, turn: int, k: int) -> np.ndarray:
    """The k uniforms of one agent's asynchronous turn."""
    return np.random.Generator(np.random.PCG64([seed, _STREAM, agent, turn, 1])).random(k)
