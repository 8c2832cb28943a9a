"""Backends answer for agents (level 3). ``openai`` and ``replay`` are imported lazily."""

from llmteams_lab.backends.base import Backend, BatchBackend, RoundBatch, RoundReplies
from llmteams_lab.backends.mock import MockBackend
from llmteams_lab.backends.simulated import SimulatedBackend

__all__ = ["Backend", "BatchBackend", "MockBackend", "RoundBatch", "RoundReplies", "SimulatedBackend"]
