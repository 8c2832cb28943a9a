"""The runtime (level 6): the engine and what it is made of.

engine     ``Run``: the rounds, the clock, the budgets
lifecycle  the stepping protocol every run satisfies and the lifecycle they share
dispatch   which backend answers for which agent; gathering a round's replies
network    messages along the topology's arcs, their fates, inboxes
faults/    the fault injector (agent, network and backend faults, the failure policy)
log        the event log, the logging mode, and ``sinks`` where events go
logfile    logs on disk after a crash (a partial last line, a half-written round)
resume     ``Run.resume(path)``: continue a logged run from its last finished round
collector  the opt-in pause of the cyclic garbage collector
sync       ``run_sync`` for scripts
"""

from llmteams_lab.runtime.engine import Run
from llmteams_lab.runtime.faults import spec_from_events
from llmteams_lab.runtime.lifecycle import Lifecycle, RoundSummary, Steppable
from llmteams_lab.runtime.log import EventLog, LogMode
from llmteams_lab.runtime.logfile import UnfinishedLogWarning
from llmteams_lab.runtime.result import RunResult
from llmteams_lab.runtime.sinks import CallbackSink, JsonlSink, MemorySink, Sink
from llmteams_lab.runtime.sync import run_sync

__all__ = ["CallbackSink", "EventLog", "JsonlSink", "Lifecycle", "LogMode", "MemorySink", "RoundSummary", "Run",
           "RunResult", "Sink", "Steppable", "UnfinishedLogWarning", "run_sync", "spec_from_events"]
