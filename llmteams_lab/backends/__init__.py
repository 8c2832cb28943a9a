"""Backends (level 3): transports that answer for agents.

base      the declared backend protocol (``Backend``), the batched round form, ``Codec``
openai    any OpenAI-compatible endpoint through the ``openai`` client (imported lazily)
mock      a scripted, zero-latency backend for tests and engine benchmarks
replay    answers exactly as a recorded run says (how replays fork)
turn_replay  answers an asynchronous run's turns as recorded, then hands over (async forks)

The simulated agents are each workload's own (``llmteams_lab.workloads``), as are the
prompts and reply parsers (the workload's codec).
"""

from llmteams_lab.backends.base import (
    Backend,
    Codec,
    RoundBatch,
    RoundReplies,
    as_backend,
)
from llmteams_lab.backends.mock import MockBackend

__all__ = ["Backend", "Codec", "MockBackend", "RoundBatch", "RoundReplies", "as_backend"]
