"""Quorum decision (BFT-style): decide once at least q agents hold the same answer.

q defaults to 2f + 1 with f = floor((n − 1) / 3), the classic bound that tolerates f
Byzantine agents among n ≥ 3f + 1. Until a quorum forms the team has no decision.
"""

from __future__ import annotations

import numpy as np

from llmteams_lab.protocols.base import Decision, Protocol, tally


class Quorum(Protocol):
    kind = "quorum"

    def __init__(self, spec, k):
        super().__init__(spec, k)
        self.q = spec.protocol.quorum_size(self.n)

    def decide(self, round, answers, confidence, alive) -> Decision:
        counts = tally(answers[alive], self.k)
        if counts.size and counts.max() >= self.q:
            return Decision(int(np.argmax(counts)), True, "quorum")
        return Decision(-1, False, "")
