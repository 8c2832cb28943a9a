"""Deliberation protocols (level 4): who acts, what they see, what the team decides."""

from llmteams_lab.protocols.base import Decision, Protocol, plurality, tally
from llmteams_lab.protocols.debate import Debate
from llmteams_lab.protocols.leader import LeaderAggregation
from llmteams_lab.protocols.questions import make_question
from llmteams_lab.protocols.quorum import Quorum
from llmteams_lab.protocols.voting import MajorityVote, WeightedVote
from llmteams_lab.spec import TeamSpec

__all__ = ["Debate", "Decision", "LeaderAggregation", "MajorityVote", "Protocol", "Quorum",
           "WeightedVote", "make_protocol", "make_question", "plurality", "tally"]

_PROTOCOLS: dict[str, type[Protocol]] = {
    cls.kind: cls for cls in (Debate, LeaderAggregation, MajorityVote, Quorum, WeightedVote)
}


def make_protocol(spec: TeamSpec, k: int) -> Protocol:
    """The protocol object for ``spec.protocol.kind`` over ``k`` answer options."""
    return _PROTOCOLS[spec.protocol.kind](spec, k)
