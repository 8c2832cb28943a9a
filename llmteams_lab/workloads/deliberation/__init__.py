"""Deliberation: a team answering a question with a known answer.

workload   the state — answers, confidences, the protocol's decision
codec      prompts and reply parsing for LLM agents (also read by ``serve``)
agents     the simulated-agent model (``AgentModel``) and its batched backend
questions  the generated questions (prime, arithmetic) and custom ones
faults     what Byzantine, sycophant, stubborn ... agents answer
"""

from llmteams_lab.workloads.base import WorkloadKind
from llmteams_lab.workloads.deliberation.agents import AgentModel, SimulatedBackend, answer_served
from llmteams_lab.workloads.deliberation.codec import CODEC
from llmteams_lab.workloads.deliberation.faults import answer_faults
from llmteams_lab.workloads.deliberation.questions import make_question
from llmteams_lab.workloads.deliberation.workload import Deliberation

__all__ = ["AgentModel", "CODEC", "Deliberation", "SimulatedBackend", "WORKLOAD", "make_question"]

WORKLOAD = WorkloadKind(
    name="deliberation",
    task_kinds=("arithmetic", "custom", "multiple_choice"),
    build=Deliberation,
    codec=CODEC,
    simulated=SimulatedBackend,
    answer_faults=answer_faults,
    serve=answer_served,
)
