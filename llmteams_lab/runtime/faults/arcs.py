"""The topology's arcs as columns, and per-arc draws equal to whole-table draws.

Why columns and not an (n, n) matrix: a 100,000-agent star has 200,000 arcs, but an
(n, n) boolean matrix of it is 10¹⁰ bytes (9.3 GiB). Every per-arc mask of a round's
message plan is therefore an array over the arcs (``E`` entries, in the topology's sorted
order), so memory grows with the edges, not with n².

The draws stay those of a whole (n, n) table: a fault with a probability decides the
message on arc (s, r) by element ``[s, r]`` of ``rng.random((n, n))`` — the same number
whatever other arcs exist, as :mod:`runtime.faults.schedule` promises. :meth:`ArcTable.uniform`
reads exactly those elements without drawing the table when it is large: numpy's PCG64
draws one 64-bit word per double, so the element at flat index ``s·n + r`` is reached by
``bit_generator.advance`` (a jump, not a loop) and nearby arcs are drawn in one run.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ArcTable"]

# Up to this many table entries the whole (n, n) table is drawn at once (32 MB of doubles);
# beyond it only the arcs' entries are reached, by jumps.
DENSE_DRAW_LIMIT = 1 << 22
_GAP = 512  # entries between two needed ones that are drawn through rather than jumped over


class ArcTable:
    """Directed arcs ``src[e] -> dst[e]`` between ``n`` agents, sorted by (src, dst)."""

    __slots__ = ("n", "src", "dst", "flat")

    def __init__(self, n: int, src: np.ndarray, dst: np.ndarray):
        self.n = n
        self.src = np.asarray(src, dtype=np.int64)
        self.dst = np.asarray(dst, dtype=np.int64)
        self.flat = self.src * n + self.dst  # position in a row-major (n, n) table; ascending
        if self.flat.size > 1 and not (np.diff(self.flat) > 0).all():
            order = np.argsort(self.flat, kind="stable")
            self.src, self.dst, self.flat = self.src[order], self.dst[order], self.flat[order]

    @property
    def size(self) -> int:
        return int(self.src.size)

    def from_senders(self, senders: np.ndarray) -> np.ndarray:
        """Arcs whose sender is in the (n,) boolean mask ``senders``."""
        return senders[self.src]

    def uniform(self, rng: np.random.Generator) -> np.ndarray:
        """Per arc, the element ``rng.random((n, n))[src, dst]`` would have (consumes ``rng``)."""
        total = self.n * self.n
        if total <= DENSE_DRAW_LIMIT:
            return rng.random(total)[self.flat]
        out = np.empty(self.size, dtype=np.float64)
        flat, bits, position = self.flat, rng.bit_generator, 0
        bounds = np.flatnonzero(np.diff(flat) > _GAP) + 1  # runs of needed entries close together
        for start, end in zip([0, *bounds.tolist()], [*bounds.tolist(), flat.size]):
            first, last = int(flat[start]), int(flat[end - 1])
            bits.advance(first - position)
            out[start:end] = rng.random(last - first + 1)[flat[start:end] - first]
            position = last + 1
        return out
