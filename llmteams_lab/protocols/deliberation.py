"""The deliberation protocols: who acts, what they see, and what the team decides.

A protocol never talks to backends or the network: given the team's current answers
it says who acts, what extra view they get, and what the team has decided. That keeps
protocols pure and testable with plain arrays. The five protocols:

majority  one round; decision = argmax_o #{i : answer_i = o} (ties: lowest option)
weighted  one round; decision = argmax_o Σ_{i : answer_i = o} confidence_i
debate    rounds of broadcasting answers to neighbours; the team's position is the
          plurality of current answers; it stops when every live agent holds the same
          answer (``stop_at_consensus``) or at the round budget
leader    a star: in round 1 everyone answers and the followers' reports reach the
          leader; in round 2 (phase ``aggregate``) the leader adopts the
          confidence-weighted plurality of the reports plus its own vote, and its
          answer is the decision — a crashed or lying leader is a single point of failure
quorum    (BFT-style) decide once at least q agents hold the same answer; q defaults
          to 2f + 1 with f = ⌊(n − 1) / 3⌋, the classic bound that tolerates f Byzantine
          agents among n ≥ 3f + 1; until a quorum forms the team has no decision

Each protocol class names the safety and liveness properties its rule guarantees
(``properties``; checked on a run's events by ``metrics.safety.check_run``).

Consensus — one definition, used by the debate's stop rule (:meth:`Debate.decide`),
the workload's agreement (``RoundSummary.agreement``), ``metrics.convergence`` and
``metrics.rounds_to_consensus`` (see :func:`held_agreement`):

    after a round, every *live* agent counts, by the answer it *holds*; the team's
    agreement is the share of them holding the modal answer, and it has reached
    consensus when that share is 1 — every live agent holds the same answer.

Live: not down (crashed, or inside a crash-recover window). An agent whose call failed
this round is live and still holds its last answer (failure policies ``skip`` and
``retry``) or none (``abstain`` withdraws it); an agent that has not yet given a valid
answer holds none, counts, and so blocks consensus. Why not count only this round's
replies: a failed call is the environment's fault, not a change of mind — dropping the
agent would let a silent dissenter vanish and declare a consensus the next round
breaks (a debate "agreeing" in round 1 and then running to its round budget). Why not
count down agents: a crashed agent can never answer again, so requiring it would make
consensus impossible after any crash; it is not part of the team any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llmteams_lab.spec import TeamSpec

__all__ = ["Debate", "Decision", "LeaderAggregation", "MajorityVote", "PROTOCOLS", "Protocol", "Quorum",
           "WeightedVote", "held_agreement", "make_protocol", "plurality", "tally"]


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


def held_agreement(answers: np.ndarray, alive: np.ndarray) -> tuple[int, int]:
    """``(modal, counted)``: how many live agents hold the modal answer, and how many
    live agents there are (see "Consensus" in the module docstring). Agreement is
    ``modal / counted``; consensus is ``counted > 0 and modal == counted``."""
    counted = int(np.count_nonzero(alive))
    held = answers if counted == answers.size else answers[alive]  # everyone alive: no gather
    held = held[held >= 0]
    return (int(np.bincount(held).max()) if held.size else 0), counted


def plurality(counts: np.ndarray) -> int:
    """The option with most votes; ties go to the lowest option index; -1 if no votes."""
    if counts.size == 0:
        return -1
    best = int(counts.argmax())  # the first of the largest counts
    return best if counts[best] > 0 else -1


class Protocol:
    """Base protocol: everyone alive acts each round; subclasses decide.

    ``properties`` names the safety and liveness properties the protocol promises —
    whatever its agents say — checked on a run's events by ``metrics.safety.check_run``
    (the checks themselves live in its ``PROPERTIES`` registry). ``decides_by`` is the
    round by which the protocol always decides (``None``: no such promise), the bound
    of its ``termination`` property."""

    kind = "base"
    properties: tuple[str, ...] = ("one_decision",)
    decides_by: int | None = None

    def __init__(self, spec: TeamSpec, k: int):
        self.spec = spec
        self.n = len(spec.agents)
        self.k = k
        self.leader = spec.ids.index(spec.leader)
        self._everyone = np.arange(self.n, dtype=np.int64)

    def acting(self, round: int, alive: np.ndarray) -> np.ndarray:
        """Indices of agents that act in ``round`` (default: every live agent; a copy of
        the whole team's when all are alive, the usual round)."""
        if np.count_nonzero(alive) == self.n:
            return self._everyone.copy()
        return np.flatnonzero(alive)

    def view(self, round: int) -> dict[str, Any]:
        """Extra, JSON-able view given to every acting agent."""
        return {}

    def decide(self, round: int, answers: np.ndarray, confidence: np.ndarray, alive: np.ndarray) -> Decision:
        raise NotImplementedError

    def _agreed(self, answers: np.ndarray, alive: np.ndarray) -> bool:
        """Consensus: every live agent holds the same answer (the module's definition)."""
        modal, counted = held_agreement(answers, alive)
        return counted > 0 and modal == counted


class MajorityVote(Protocol):
    kind = "majority"
    properties = ("one_decision", "plurality", "termination")
    decides_by = 1

    def decide(self, round, answers, confidence, alive) -> Decision:
        return Decision(plurality(tally(answers[alive], self.k)), True, "voted")


class WeightedVote(Protocol):
    kind = "weighted"
    properties = ("one_decision", "weighted_plurality", "termination")
    decides_by = 1

    def decide(self, round, answers, confidence, alive) -> Decision:
        weights = confidence[alive].astype(np.float64)
        return Decision(plurality(tally(answers[alive], self.k, weights)), True, "voted")


class Debate(Protocol):
    kind = "debate"
    properties = ("one_decision", "consensus_agreement", "stops_at_consensus")

    def decide(self, round, answers, confidence, alive) -> Decision:
        held = answers if np.count_nonzero(alive) == answers.size else answers[alive]  # all alive: no gather
        value = plurality(tally(held, self.k))
        done = self.spec.protocol.stop_at_consensus and self._agreed(answers, alive)
        return Decision(value, done, "consensus" if done else "")


class LeaderAggregation(Protocol):
    kind = "leader"
    properties = ("one_decision", "leader_decides", "termination")
    decides_by = 2

    def view(self, round: int) -> dict:
        return {"phase": "aggregate" if round >= 2 else "report", "leader": self.spec.leader}

    def decide(self, round, answers, confidence, alive) -> Decision:
        value = int(answers[self.leader]) if alive[self.leader] else -1
        done = round >= 2
        return Decision(value, done, "leader_decided" if done else "")


class Quorum(Protocol):
    kind = "quorum"
    properties = ("one_decision", "quorum_certificate", "decides_at_quorum")

    def __init__(self, spec, k):
        super().__init__(spec, k)
        self.q = spec.protocol.quorum_size(self.n)

    def decide(self, round, answers, confidence, alive) -> Decision:
        counts = tally(answers[alive], self.k)
        if counts.size and counts.max() >= self.q:
            return Decision(int(np.argmax(counts)), True, "quorum")
        return Decision(-1, False, "")


PROTOCOLS: dict[str, type[Protocol]] = {
    cls.kind: cls for cls in (Debate, LeaderAggregation, MajorityVote, Quorum, WeightedVote)
}


def make_protocol(spec: TeamSpec, k: int) -> Protocol:
    """The protocol object for ``spec.protocol.kind`` over ``k`` answer options."""
    return PROTOCOLS[spec.protocol.kind](spec, k)
