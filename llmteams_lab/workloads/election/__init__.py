"""Leader election and replicated decisions, Raft-style.

raft        the rules of one node, pure (terms, votes, log matching, commit)
workload    the nodes' state and what their agents' replies do
assignment  the leader's other duty: assigning a work DAG's tasks as log entries
codec     prompts and reply parsing for LLM agents (candidate, voter, leader)
agents    the simulated agents (textbook Raft choices, competence-based proposals)
events    the workload's event types (``LeaderElected``, ``EntryCommitted`` ...)
"""

from llmteams_lab.workloads.base import WorkloadKind
from llmteams_lab.workloads.election import events
from llmteams_lab.workloads.election.agents import STREAM, SimulatedVoters, decide
from llmteams_lab.workloads.election.codec import CODEC
from llmteams_lab.workloads.election.workload import Election
from llmteams_lab.workloads.roles import served

__all__ = ["CODEC", "Election", "PROPERTIES", "SimulatedVoters", "WORKLOAD", "events"]

PROPERTIES = ("election_safety", "leader_completeness", "committed_unchanged", "leader_within_timeouts")
"""What a run promises: at most one leader per term; every leader holds every entry
committed in an earlier term; a committed decision never changes; a new leader within
k election timeouts of losing one while a majority is up (``metrics.coordination``).
A leader that assigns work (``duty="assign"``) also promises ``tasks_done_once``."""


def _properties(spec) -> tuple[str, tuple[str, ...]]:
    election = spec.task.election
    return "raft", PROPERTIES + (("tasks_done_once",) if election is not None and election.duty == "assign" else ())


WORKLOAD = WorkloadKind(
    name="election",
    task_kinds=("election",),
    build=Election,
    codec=CODEC,
    simulated=SimulatedVoters,
    properties=_properties,
    serve=served(decide, STREAM),
)
