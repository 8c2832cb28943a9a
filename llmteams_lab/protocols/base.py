"""What every deliberation protocol provides to the engine.

A protocol never talks to backends or the network: given the team's current answers
it says who acts, what extra view they get, and what the team has decided. That keeps
protocols pure and testable with plain arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llmteams_lab.spec import TeamSpec

__all__ = ["Decision", "Protocol", "plurality", "tally"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The team's decision after a round: an option index (-1: none yet)."""

    value: int
    done: bool = False
    reason: str = ""


def tally(answers: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Votes (or summed weights) per option, ignoring answers < 0."""
    valid = answers >= 0
    w = None if weights is None else weights[valid]
    return np.bincount(answers[valid], weights=w, minlength=k)[:k]


def plurality(counts: np.ndarray) -> int:
    """The option with most votes; ties go to the lowest option index; -1 if no votes."""
    if counts.size == 0 or counts.max() <= 0:
        return -1
    return int(np.argmax(counts))


class Protocol:
    """Base protocol: everyone alive acts each round; subclasses decide."""

    kind = "base"

    def __init__(self, spec: TeamSpec, k: int):
        self.spec = spec
        self.n = len(spec.agents)
        self.k = k
        self.leader = spec.ids.index(spec.leader)

    def acting(self, round: int, alive: np.ndarray) -> np.ndarray:
        """Indices of agents that act in ``round`` (default: every live agent)."""
        return np.flatnonzero(alive)

    def view(self, round: int) -> dict[str, Any]:
        """Extra, JSON-able view given to every acting agent."""
        return {}

    def decide(self, round: int, answers: np.ndarray, confidence: np.ndarray, alive: np.ndarray) -> Decision:
        raise NotImplementedError

    def _agreed(self, answers: np.ndarray, alive: np.ndarray) -> bool:
        live = answers[alive]
        return live.size > 0 and bool((live >= 0).all()) and bool((live == live[0]).all())
