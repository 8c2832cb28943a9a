"""Leader aggregation on a star: followers answer and report, the leader decides.

Round 1: everyone answers on their own; answers travel along the star's edges, so
the leader receives every follower's report. Round 2 (phase ``aggregate``): the
leader adopts the confidence-weighted plurality of the reports plus its own vote;
its answer is the team's decision and the run ends. The decision is always the
leader's answer — a crashed or lying leader is a single point of failure.
"""

from __future__ import annotations

from llmteams_lab.protocols.base import Decision, Protocol


class LeaderAggregation(Protocol):
    kind = "leader"

    def view(self, round: int) -> dict:
        return {"phase": "aggregate" if round >= 2 else "report", "leader": self.spec.leader}

    def decide(self, round, answers, confidence, alive) -> Decision:
        value = int(answers[self.leader]) if alive[self.leader] else -1
        done = round >= 2
        return Decision(value, done, "leader_decided" if done else "")
