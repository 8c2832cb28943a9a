"""Metrics (level 6): pure polars functions over the events frame."""

from llmteams_lab.metrics.communication import overhead, per_agent, per_edge
from llmteams_lab.metrics.consensus import answer_tallies, convergence, rounds_to_consensus
from llmteams_lab.metrics.frame import SCHEMA, empty_frame, events_frame
from llmteams_lab.metrics.summary import round_summary

__all__ = ["SCHEMA", "answer_tallies", "convergence", "empty_frame", "events_frame", "overhead", "per_agent",
           "per_edge", "round_summary", "rounds_to_consensus"]
