"""The runtime (level 5): engine, network, event log, sinks and the sync bridge."""

from llmteams_lab.runtime.engine import RoundSummary, Run
from llmteams_lab.runtime.faults import spec_from_events
from llmteams_lab.runtime.replay import ReplayFinishedError, ReplayRun
from llmteams_lab.runtime.result import RunResult
from llmteams_lab.runtime.sinks import CallbackSink, JsonlSink, MemorySink, Sink
from llmteams_lab.runtime.sync import run_sync

__all__ = ["CallbackSink", "JsonlSink", "MemorySink", "ReplayFinishedError", "ReplayRun", "RoundSummary", "Run",
           "RunResult", "Sink", "run_sync", "spec_from_events"]
