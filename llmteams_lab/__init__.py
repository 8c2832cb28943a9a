"""llmteams_lab — run teams of LLM agents as distributed systems, round by round.

The curated public API. Importing this package loads no notebook, plotting or
LLM-client library (ipywidgets, IPython, plotly, openai, ray, nest_asyncio): those are
imported only by the modules that need them, when they are used.

    >>> from llmteams_lab import team, run_sync
    >>> result = run_sync(team(5, protocol="debate", seed=1))
    >>> result.summary()          # per-round agreement, accuracy, messages, tokens
"""

from llmteams_lab.datasets.replay import ReplayRun
from llmteams_lab.errors import (
    BackendError,
    LifecycleError,
    LlmTeamsError,
    RunClosedError,
    RunFailedError,
    RunFinishedError,
    SpecError,
    StepInProgressError,
    SyncBridgeError,
)
from llmteams_lab.events import COLUMNS, Event
from llmteams_lab.messages import AgentReply, AgentRequest, Message, Question
from llmteams_lab.runtime import (
    CallbackSink,
    JsonlSink,
    MemorySink,
    RoundSummary,
    Run,
    RunResult,
    run_sync,
)
from llmteams_lab.runtime.faults import spec_from_events
from llmteams_lab.spec import (
    AgentSpec,
    Budgets,
    ProtocolSpec,
    TaskSpec,
    TeamSpec,
    TopologySpec,
    WorkSpec,
    WorkTask,
    team,
    work_team,
)
from llmteams_lab.spec.faults import FailurePolicySpec, FaultSpec

__version__ = "0.1.0"

__all__ = [
    "AgentReply",
    "AgentRequest",
    "AgentSpec",
    "BackendError",
    "Budgets",
    "COLUMNS",
    "CallbackSink",
    "Event",
    "FailurePolicySpec",
    "FaultSpec",
    "JsonlSink",
    "LifecycleError",
    "LlmTeamsError",
    "MemorySink",
    "Message",
    "ProtocolSpec",
    "Question",
    "ReplayRun",
    "RoundSummary",
    "Run",
    "RunClosedError",
    "RunFailedError",
    "RunFinishedError",
    "RunResult",
    "SpecError",
    "StepInProgressError",
    "SyncBridgeError",
    "TaskSpec",
    "TeamSpec",
    "TopologySpec",
    "WorkSpec",
    "WorkTask",
    "run_sync",
    "spec_from_events",
    "team",
    "work_team",
]
