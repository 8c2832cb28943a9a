"""Gossip: epidemic dissemination of one value (push, pull, push–pull; fanout k; any topology).

workload  who holds the value, who told whom, whom each agent contacts
peers     the seeded random choice of peers
codec     prompts and reply parsing for LLM gossipers
agents    the simulated gossipers (vectorised over a round)
events    ``Informed``: an agent's first time holding the value
"""

from llmteams_lab.workloads.base import WorkloadKind
from llmteams_lab.workloads.gossip import events
from llmteams_lab.workloads.gossip.agents import STREAM, SimulatedGossipers, decide
from llmteams_lab.workloads.gossip.codec import CODEC
from llmteams_lab.workloads.gossip.workload import Gossip
from llmteams_lab.workloads.roles import served

__all__ = ["CODEC", "Gossip", "PROPERTIES", "SimulatedGossipers", "WORKLOAD", "events"]

PROPERTIES = ("informed_once", "told_by_informed", "reaches_everyone")
"""What a run promises: each agent is informed at most once; whoever informs an agent
held the value already (no value out of nowhere); without ``ttl``, a run that ends
``all_informed`` informed every live agent (``metrics.coordination``)."""

WORKLOAD = WorkloadKind(
    name="gossip",
    task_kinds=("gossip",),
    build=Gossip,
    codec=CODEC,
    simulated=SimulatedGossipers,
    properties=lambda spec: (f"gossip_{spec.task.gossip.mode}", PROPERTIES),
    serve=served(decide, STREAM),
)
