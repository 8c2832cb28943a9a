"""Multi-round debate: agents see their neighbours' previous answers and may update.

The team's position after each round is the plurality of current answers; the run
stops when every live agent holds the same answer (``stop_at_consensus``) or at the
round budget.
"""

from __future__ import annotations

from llmteams_lab.protocols.base import Decision, Protocol, plurality, tally


class Debate(Protocol):
    kind = "debate"

    def decide(self, round, answers, confidence, alive) -> Decision:
        value = plurality(tally(answers[alive], self.k))
        done = self.spec.protocol.stop_at_consensus and self._agreed(answers, alive)
        return Decision(value, done, "consensus" if done else "")
