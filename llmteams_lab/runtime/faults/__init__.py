"""Faults at run time: one injector applying every fault of a run, recorded as events.

injector  the injector, its hooks in the round, live injection, and ``spec_from_events``
network   one round's message plan (drop, delay, duplicate, reorder, corrupt, partition)
backend   backend faults and the retry policy, at the backend boundary
schedule  a fault's targets, window and seeded draws

What faulty agents *answer* is the workload's business (``workloads.deliberation.faults``),
handed to the injector by the workload's registry entry.
"""

from llmteams_lab.runtime.faults.injector import (
    FaultInjector,
    NoFaults,
    make_injector,
    spec_from_events,
)

__all__ = ["FaultInjector", "NoFaults", "make_injector", "spec_from_events"]
