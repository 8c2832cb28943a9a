"""Simulated coordinators and participants: seeded, offline.

A participant asked to do its step fails with probability ``failure_rate`` (the
transaction's, ``CommitSpec.failure_rate``; 0 when ``serve`` plays it) and then votes
no; otherwise it votes yes with its part — its answer to the step's question, right with
probability ``competence`` (deliberation's first answers), or ``"done: <step>"`` for a
step with an action. A simulated coordinator never vetoes: it commits whenever the rules
let it. Latency and tokens follow each agent's profile (``workloads.roles``).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from llmteams_lab.messages import AgentRequest
from llmteams_lab.spec import AgentSpec, TeamSpec
from llmteams_lab.workloads.roles import Choices, Minds, answer_question

__all__ = ["STREAM", "SimulatedParticipants", "decide"]

STREAM = 0xC0AA


def decide(request: AgentRequest, profile: AgentSpec, rng: np.random.Generator, truth: str | None,
           failure_rate: float = 0.0) -> Choices:
    """This turn's choices (see the module docstring)."""
    asked = request.view.get("decide", ())
    if "decide" in asked:
        return {"decide": "commit"}
    if "vote" not in asked:
        return {}
    if rng.random() < failure_rate:
        return {"vote": "no"}
    q = request.question
    part = answer_question(q.options, truth, profile.competence, rng) if q is not None else \
        f"done: {request.view.get('step')}"
    return {"vote": "yes", "part": part}


def SimulatedParticipants(spec: TeamSpec) -> Minds:  # noqa: N802 - a backend factory
    """The simulated agents of a commit team (with the transaction's failure rate)."""
    return Minds(spec, partial(decide, failure_rate=spec.task.commit.failure_rate), STREAM)
