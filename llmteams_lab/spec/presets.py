"""Classic scenarios as ready specs, each with a one-paragraph explanation (for teaching).

Why data in the library (not in the UI): a lesson, a test or a script loads the same
scenario the lab's presets menu loads — ``PRESETS["byzantine_3f"].spec`` — and the lab only
lists them. Every preset is a plain :class:`~llmteams_lab.spec.TeamSpec` with its faults
scheduled, seeded, offline (simulated agents), so it plays the same everywhere; the tests
check that each one shows what its explanation says.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmteams_lab.spec.faults import FaultSpec
from llmteams_lab.spec.team import TeamSpec, team

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    """A named scenario: ``spec`` to run and ``explanation`` to read before pressing Play."""

    key: str
    title: str
    explanation: str
    spec: TeamSpec


def _byzantine(n: int, f: int = 1) -> TeamSpec:
    spec = team(n, protocol="quorum", competence=0.9, conformity=0.5, max_rounds=8, seed=4)
    return spec.replace(name=f"byzantine-n{n}-f{f}", protocol={"kind": "quorum", "faulty": f},
                        faults=[FaultSpec(kind="byzantine", agent=f"a{i}") for i in range(f)])


def _split_brain() -> TeamSpec:
    spec = team(6, protocol="debate", competence=0.4, conformity=0.8, max_rounds=12, seed=4)
    return spec.replace(name="split-brain", protocol={"kind": "debate", "stop_at_consensus": False},
                        faults=[FaultSpec(kind="partition", groups=(("a0", "a1", "a2"), ("a3", "a4", "a5")),
                                          at_round=1, heal_round=8)])


def _straggler() -> TeamSpec:
    spec = team(5, protocol="debate", competence=0.6, conformity=0.5, max_rounds=8, seed=3, latency_s=1.0,
                latency_jitter=0.1)
    return spec.replace(name="straggler", protocol={"kind": "debate", "stop_at_consensus": False},
                        faults=[FaultSpec(kind="straggler", agent="a2", factor=8.0)])


def _leader_crash() -> TeamSpec:
    spec = team(6, topology="star", protocol="leader", competence=0.7, max_rounds=8, seed=5)
    return spec.replace(name="leader-crash", protocol={"kind": "leader", "stop_at_consensus": False},
                        faults=[FaultSpec(kind="crash", agent="a0", at_round=2)])


def _retry_storm() -> TeamSpec:
    spec = team(8, protocol="debate", competence=0.6, max_rounds=6, seed=6)
    return spec.replace(name="retry-storm", protocol={"kind": "debate", "stop_at_consensus": False},
                        faults=[FaultSpec(kind="rate_limit", probability=0.6, start_round=2)],
                        failure_policy={"on_error": "retry", "retries": 3, "backoff_s": 0.5, "after_retries": "skip"})


PRESETS: dict[str, Preset] = {p.key: p for p in (
    Preset("byzantine_3f", "Byzantine generals, n = 3f (3 agents, 1 traitor)",
           "Three generals must agree, and one of them (a0) is a traitor who always pushes the same wrong "
           "answer. A BFT quorum needs 2f + 1 = 3 matching votes, but only two generals are loyal: the truth can "
           "never gather a quorum, so the team either never decides (liveness fails) or is dragged to the lie. "
           "Lamport, Shostak and Pease proved no protocol can do better with n = 3f: compare the next preset.",
           _byzantine(3)),
    Preset("byzantine_3f1", "Byzantine generals, n = 3f + 1 (4 agents, 1 traitor)",
           "The same traitor, one more loyal general. Now three loyal votes can form the quorum of 2f + 1 = 3 "
           "without the traitor, so the team decides the truth despite the lie — the n ≥ 3f + 1 bound in action. "
           "Watch the traitor's node (glyph B) stay alone in the answer-share bar.",
           _byzantine(4)),
    Preset("split_brain", "Split brain: a partition cuts the team in two",
           "A network partition separates {a0, a1, a2} from {a3, a4, a5} for rounds 1–7 (the halos show the two "
           "sides; cut links are drawn dashed). Each side debates only with itself and settles on its own "
           "answer — here C on one side and A on the other — so the team holds two 'truths' at once and "
           "agreement stalls at one half. When the partition heals in round 8 the sides hear each other again "
           "and reconcile on one answer.",
           _split_brain()),
    Preset("straggler", "A straggler in a synchronous team",
           "Agent a2 is eight times slower than the others. In a synchronous round everyone waits for the last "
           "reply, so every round lasts as long as a2's — the team runs at the speed of its slowest member. "
           "Read the message table's 'sent at' column: a2's messages leave seconds after everyone else's.",
           _straggler()),
    Preset("leader_crash", "A leader crash without failover",
           "A star team whose hub a0 collects the followers' answers and announces the decision in round 2. "
           "Just then the leader crashes (grey, ✕): the round ends and the run stops with no decision, although "
           "every follower still holds an answer. Nobody takes over — the protocol has no election — a single "
           "point of failure. Fork from round 1 without the crash to see the decision it would have made.",
           _leader_crash()),
    Preset("retry_storm", "A retry storm against a rate-limited endpoint",
           "From round 2 the endpoint answers 60 % of calls with HTTP 429 (rate limited), and every agent "
           "retries up to three times with exponential backoff. Retries are more calls against the same limit: "
           "the fault log counts the failures, the event log holds an AgentRetried for every attempt, and rounds "
           "stretch by the backoff. Simulated, so it costs nothing.",
           _retry_storm()),
)}
