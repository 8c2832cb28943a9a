"""When and to whom a fault applies, and the seeded random streams it draws from.

Why streams keyed by the fault's *content* (its canonical JSON, plus how many identical
faults precede it) rather than its position in the list: a fault injected live and the
same fault written into the spec must draw the very same numbers, whatever other
faults were injected around it — that is what makes a live run re-runnable from its
log. Draws are whole tables per round (every agent, every arc, every attempt), so a
fault's effect on one message never depends on which other messages exist.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Sequence

import numpy as np

from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.streams import RoundStreams

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.runtime.faults.arcs import ArcTable

__all__ = ["ScheduledFault", "canonical_json"]

_STREAM = 0xFA17  # separates fault draws from every other seeded stream


def canonical_json(fault: FaultSpec) -> str:
    """The fault as sorted, compact JSON: what ``FaultApplied.detail`` records."""
    return json.dumps(fault.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ScheduledFault:
    """A fault of one run, resolved against the team (agent indices, stream key)."""

    __slots__ = ("spec", "json", "key", "targets", "side", "first", "last", "_streams")

    def __init__(self, spec: FaultSpec, ids: Sequence[str], occurrence: int):
        self.spec = spec
        self.json = canonical_json(spec)
        digest = hashlib.sha256(f"{self.json}#{occurrence}".encode()).hexdigest()
        self.key = int(digest[:12], 16)
        self.targets = _target_mask(spec, ids)
        self.side = _sides(spec, ids)
        self.first = spec.first_round
        self.last = spec.last_round
        self._streams: RoundStreams | None = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    def in_window(self, round: int) -> bool:
        return self.first <= round and (self.last is None or round <= self.last)

    def rng(self, seed: int, round: int) -> np.random.Generator:
        """This fault's generator for ``round`` (independent of every other fault's):
        ``default_rng([seed, _STREAM, key, round])``'s, seeded a block of rounds at a time
        (``llmteams_lab.streams``). Draw from it before asking for another round."""
        streams = self._streams
        if streams is None or streams.before[0] != seed:
            streams = self._streams = RoundStreams((seed, _STREAM, self.key), (), self.last)
        return streams.generator(round)

    def agents_hit(self, seed: int, round: int) -> np.ndarray:
        """Agents the fault acts on in ``round``: its targets, in its window, drawn with
        its probability (one draw per agent and round)."""
        n = self.targets.size
        if not self.in_window(round):
            return np.zeros(n, dtype=bool)
        if self.spec.probability is None:
            return self.targets.copy()
        return self.targets & (self.rng(seed, round).random(n) < self.spec.probability)

    def arcs_touched(self, arcs: "ArcTable") -> np.ndarray:
        """Mask over ``arcs`` (one entry per arc) of those whose messages this network
        fault may touch."""
        spec, t, src, dst = self.spec, self.targets, arcs.src, arcs.dst
        if self.side is not None:
            return self.side[src] != self.side[dst]
        if spec.link is not None:
            return t[src] & t[dst]
        if spec.agent is None and spec.group is None:
            return np.ones(arcs.size, dtype=bool)
        return t[src] | t[dst]


def _target_mask(spec: FaultSpec, ids: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(ids)}
    names = spec.targets()
    mask = np.zeros(len(ids), dtype=bool)
    if names is None:
        mask[:] = True
    else:
        mask[[index[name] for name in names]] = True
    return mask


def _sides(spec: FaultSpec, ids: Sequence[str]) -> np.ndarray | None:
    """A partition's group index per agent; agents in no group form group -1."""
    if spec.groups is None:
        return None
    index = {name: i for i, name in enumerate(ids)}
    side = np.full(len(ids), -1, dtype=np.int64)
    for g, members in enumerate(spec.groups):
        side[[index[name] for name in members]] = g
    return side
