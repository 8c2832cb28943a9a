"""One-shot votes: every agent answers once, the plurality (optionally weighted) wins."""

from __future__ import annotations

import numpy as np

from llmteams_lab.protocols.base import Decision, Protocol, plurality, tally


class MajorityVote(Protocol):
    """decision = argmax_o #{i : answer_i = o}; one round."""

    kind = "majority"

    def decide(self, round, answers, confidence, alive) -> Decision:
        return Decision(plurality(tally(answers[alive], self.k)), True, "voted")


class WeightedVote(Protocol):
    """decision = argmax_o Σ_{i : answer_i = o} confidence_i; one round."""

    kind = "weighted"

    def decide(self, round, answers, confidence, alive) -> Decision:
        weights = confidence[alive].astype(np.float64)
        return Decision(plurality(tally(answers[alive], self.k, weights)), True, "voted")
