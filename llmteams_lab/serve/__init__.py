"""``llmteams-lab serve``: a loopback OpenAI-compatible endpoint backed by simulated agents.

An application on top of the library (like the CLI): tests, benchmarks and the lessons
use it to run the real ``openai`` client and the ``openai`` backend without a key.
"""

from llmteams_lab.serve.app import DEFAULT_MODEL, Server, ServerStats
from llmteams_lab.serve.faults import FAULT_KINDS, FaultPlan, FaultRule
from llmteams_lab.serve.running import Background

__all__ = ["Background", "DEFAULT_MODEL", "FAULT_KINDS", "FaultPlan", "FaultRule", "Server", "ServerStats"]
