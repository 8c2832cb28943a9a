"""Specs: what to run, as frozen, validated values (level 1 of the import ladder)."""

from llmteams_lab.spec.agent import AgentSpec
from llmteams_lab.spec.budgets import Budgets
from llmteams_lab.spec.coordination import (
    CommitSpec,
    CommitStep,
    ElectionSpec,
    GossipSpec,
    commit_team,
    election_team,
    gossip_team,
)
from llmteams_lab.spec.endpoint import EndpointSpec
from llmteams_lab.spec.faults import FailurePolicySpec, FaultSpec
from llmteams_lab.spec.limits import RateLimitSpec
from llmteams_lab.spec.network import DetectorSpec, LinkSpec, NetworkSpec
from llmteams_lab.spec.profiles import PROFILES, ProfileSpec
from llmteams_lab.spec.protocol import ProtocolSpec
from llmteams_lab.spec.task import TaskSpec
from llmteams_lab.spec.tasks import WorkSpec, WorkTask, work_team
from llmteams_lab.spec.team import TeamSpec, team
from llmteams_lab.spec.topology import TopologySpec

__all__ = ["AgentSpec", "Budgets", "CommitSpec", "CommitStep", "DetectorSpec", "ElectionSpec", "EndpointSpec",
           "FailurePolicySpec", "FaultSpec", "GossipSpec", "LinkSpec", "NetworkSpec", "PROFILES", "ProfileSpec",
           "ProtocolSpec", "RateLimitSpec", "TaskSpec", "TeamSpec", "TopologySpec", "WorkSpec", "WorkTask",
           "commit_team", "election_team", "gossip_team", "team", "work_team"]
