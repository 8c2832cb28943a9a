"""Simulated election agents: the choices a Raft node's agent makes, seeded and offline.

An agent follows the textbook: it stands whenever its election timer runs out, grants
its vote to the first candidate the rules let it vote for (Raft's first come, first
served), and as leader proposes its own answer to the next question — right with
probability ``competence``, else a uniformly drawn wrong option (deliberation's first
answers) — or, assigning work, gives the ready tasks (best first, as its view lists
them) to the idle followers in the order listed. Latency and tokens follow its profile
(``workloads.roles``). ``serve`` plays the same agent through
:func:`~llmteams_lab.workloads.roles.served`.
"""

from __future__ import annotations

import numpy as np

from llmteams_lab.messages import AgentRequest
from llmteams_lab.spec import AgentSpec, TeamSpec
from llmteams_lab.workloads.election.assignment import pairs_text
from llmteams_lab.workloads.roles import Choices, Minds, answer_question

__all__ = ["STREAM", "SimulatedVoters", "decide"]

STREAM = 0xE1EA  # the election agents' random stream


def decide(request: AgentRequest, profile: AgentSpec, rng: np.random.Generator, truth: str | None) -> Choices:
    """This turn's choices (see the module docstring)."""
    asked = request.view.get("decide", ())
    choices: Choices = {}
    candidates = request.view.get("candidates") or []
    if "vote" in asked and candidates:
        choices["vote"] = candidates[0]
    if "stand" in asked and "vote" not in choices:
        choices["stand"] = True
    if "propose" in asked and request.question is not None:
        choices["propose"] = answer_question(request.question.options, truth, profile.competence, rng)
    if "assign" in asked:
        pairs = list(zip(request.view.get("ready") or [], request.view.get("idle") or []))
        if pairs:
            choices["assign"] = pairs_text(pairs)
    return choices


def SimulatedVoters(spec: TeamSpec) -> Minds:  # noqa: N802 - a backend factory, named like the class it builds
    """The simulated agents of an election team."""
    return Minds(spec, decide, STREAM)
