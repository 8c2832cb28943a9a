"""Atomic commit and sagas for coherent multi-part outputs (with N-version and primary–backup).

coordinator  the coordinator's rules, pure (two-phase commit, saga, best effort)
participant  a participant's rules, pure (vote, wait — blocked —, commit, compensate)
workload     the team's state and what replies do
codec        prompts and reply parsing for LLM coordinators and participants
agents       the simulated agents
events       ``Voted``, ``Decided``, ``Blocked``, ``Compensated`` ...
"""

from functools import partial

from llmteams_lab.workloads.base import WorkloadKind
from llmteams_lab.workloads.commit import events
from llmteams_lab.workloads.commit.agents import STREAM, SimulatedParticipants, decide
from llmteams_lab.workloads.commit.codec import CODEC
from llmteams_lab.workloads.commit.workload import Commit
from llmteams_lab.workloads.roles import served

__all__ = ["CODEC", "Commit", "SimulatedParticipants", "WORKLOAD", "events", "properties"]


def properties(spec) -> tuple[str, tuple[str, ...]]:
    """What a run of ``spec`` promises (checked by ``metrics.coordination``): one outcome,
    and for two-phase commit atomicity (never some parts committed and others aborted;
    a commit only after every step voted yes), for a saga that an aborted saga's
    completed steps are all compensated, in reverse order."""
    protocol = spec.task.commit.protocol
    own = {"two_phase": ("atomicity", "commit_needs_every_yes"), "saga": ("saga_compensation",),
           "best_effort": ()}[protocol]
    return protocol, ("one_outcome",) + own


WORKLOAD = WorkloadKind(
    name="commit",
    task_kinds=("commit",),
    build=Commit,
    codec=CODEC,
    simulated=SimulatedParticipants,
    properties=properties,
    serve=served(partial(decide, failure_rate=0.0), STREAM),
)
