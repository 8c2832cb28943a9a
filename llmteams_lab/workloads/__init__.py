"""Workloads (level 5): what a team works on, one plug-in sub-package each.

The registry below maps every task kind (``TaskSpec.kind``) to the workload that runs
it. A new workload is one sub-package exposing ``WORKLOAD`` (a
:class:`~llmteams_lab.workloads.base.WorkloadKind`) plus one line in :data:`_PACKAGES`.
"""

from __future__ import annotations

import importlib

from llmteams_lab.errors import SpecError
from llmteams_lab.workloads.base import AnswerFaults, Workload, WorkloadKind

__all__ = ["AnswerFaults", "REGISTRY", "Workload", "WorkloadKind", "codec_for", "workload_for"]

# one line per workload: the sub-package exposing WORKLOAD
_PACKAGES = (
    "llmteams_lab.workloads.deliberation",
    "llmteams_lab.workloads.workdivision",
    "llmteams_lab.workloads.election",
    "llmteams_lab.workloads.gossip",
    "llmteams_lab.workloads.commit",
)

REGISTRY: dict[str, WorkloadKind] = {
    kind: w
    for w in (importlib.import_module(path).WORKLOAD for path in _PACKAGES)
    for kind in w.task_kinds
}


def workload_for(task_kind: str) -> WorkloadKind:
    """The workload that runs tasks of ``task_kind``."""
    try:
        return REGISTRY[task_kind]
    except KeyError:
        raise SpecError("task.kind", f"must be one of {sorted(REGISTRY)}", task_kind) from None


def codec_for(workload: str):
    """The codec of the workload named ``workload`` (``AgentRequest.workload``)."""
    for w in REGISTRY.values():
        if w.name == workload:
            return w.codec
    raise SpecError("workload", f"must be one of {sorted({w.name for w in REGISTRY.values()})}", workload)
