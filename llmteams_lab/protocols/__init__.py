"""Decision protocols (level 4): who acts, what they see, what the team decides.

Pure rules over arrays of answers, with no backend, network or log: the workloads
(``llmteams_lab.workloads``) drive them. ``protocols.deliberation`` holds the five
deliberation protocols (majority, weighted, debate, leader, quorum).
"""

from llmteams_lab.protocols.deliberation import (
    PROTOCOLS,
    Debate,
    Decision,
    LeaderAggregation,
    MajorityVote,
    Protocol,
    Quorum,
    WeightedVote,
    held_agreement,
    make_protocol,
    plurality,
    tally,
)

__all__ = ["Debate", "Decision", "LeaderAggregation", "MajorityVote", "PROTOCOLS", "Protocol", "Quorum",
           "WeightedVote", "held_agreement", "make_protocol", "plurality", "tally"]
