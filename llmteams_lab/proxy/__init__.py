"""``llmteams-lab proxy``: a fault-injecting reverse proxy for OpenAI-compatible endpoints.

An application on top of the library (like the CLI and ``serve``); the fault vocabulary
is shared with ``serve`` (:mod:`llmteams_lab.serve.faults`).
"""

from llmteams_lab.proxy.app import Proxy

__all__ = ["Proxy"]
