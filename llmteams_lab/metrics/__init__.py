"""Metrics (level 6): pure polars functions over the events frame."""

from llmteams_lab.metrics.causality import (
    check_causality,
    happened_before,
    lanes,
    vector_clocks,
)
from llmteams_lab.metrics.communication import overhead, per_agent, per_edge
from llmteams_lab.metrics.consensus import (
    answer_tallies,
    convergence,
    held_answers,
    round_agreement,
    rounds_to_consensus,
)
from llmteams_lab.metrics.coordination import (
    commit_outcomes,
    election_summary,
    failovers,
    gossip_spread,
    gossip_summary,
)
from llmteams_lab.metrics.designs import (
    baseline_gains,
    design_summary,
    label_columns,
    paired_differences,
    pareto_front,
    scaling_exponents,
)
from llmteams_lab.metrics.faults import (
    byzantine_influence,
    faulty_agents,
    message_loss,
    time_to_recover,
)
from llmteams_lab.metrics.frame import SCHEMA, empty_frame, events_frame
from llmteams_lab.metrics.intervals import bootstrap_mean, wilson
from llmteams_lab.metrics.safety import (
    PROPERTIES,
    Property,
    check_agreement,
    check_run,
    check_termination,
    check_validity,
    declared_properties,
    prefix,
)
from llmteams_lab.metrics.resources import agent_profiles, agent_usage, profile_usage
from llmteams_lab.metrics.scheduling import policy_bounds, policy_runs, speculation_summary
from llmteams_lab.metrics.summary import round_summary
from llmteams_lab.metrics.timeline import (
    in_flight,
    mailbox_lengths,
    message_latency,
    suspicions,
    time_summary,
)
from llmteams_lab.metrics.workdivision import (
    amdahl,
    critical_path_bound,
    idle_rounds,
    run_specs,
    speedups,
    straggler_gaps,
    work_bounds,
    work_summary,
    write_conflicts,
)

__all__ = ["PROPERTIES", "Property", "SCHEMA", "agent_profiles", "agent_usage", "amdahl", "answer_tallies",
           "baseline_gains", "bootstrap_mean", "byzantine_influence", "check_agreement", "check_causality",
           "check_run", "check_termination", "check_validity", "commit_outcomes", "convergence",
           "critical_path_bound", "declared_properties", "design_summary", "election_summary", "empty_frame",
           "events_frame", "failovers", "faulty_agents", "gossip_spread", "gossip_summary", "happened_before",
           "held_answers", "idle_rounds", "in_flight", "label_columns", "lanes", "mailbox_lengths",
           "message_latency", "message_loss", "overhead", "paired_differences", "pareto_front", "per_agent",
           "per_edge", "policy_bounds", "policy_runs", "prefix", "profile_usage", "round_agreement",
           "round_summary", "rounds_to_consensus", "run_specs", "scaling_exponents", "speculation_summary",
           "speedups", "straggler_gaps", "suspicions", "time_summary", "time_to_recover", "vector_clocks",
           "wilson", "work_bounds", "work_summary", "write_conflicts"]
