"""Work division: a team dividing a task DAG on a shared task board (the paper's experiment).

workload  the state — the task board, what each agent's actions do to it
codec     the action vocabulary for LLM agents: the turn's prompt, a tolerant parser
agents    the simulated workers
board     the task board (statuses, owners, progress, file locks)
dag       task DAGs: topological order, critical path, the system's pre-assignment
"""

from llmteams_lab.workloads.base import WorkloadKind
from llmteams_lab.workloads.workdivision.agents import SimulatedWorkers
from llmteams_lab.workloads.workdivision.codec import CODEC
from llmteams_lab.workloads.workdivision.workload import WorkDivision, draw_work

__all__ = ["CODEC", "SimulatedWorkers", "WORKLOAD", "WorkDivision", "draw_work"]

WORKLOAD = WorkloadKind(
    name="work_division",
    task_kinds=("work_division",),
    continuous=True,
    build=WorkDivision,
    codec=CODEC,
    simulated=SimulatedWorkers,
)
