"""The run's event log: numbering, buffering per round, handing rounds to sinks — and
the logging mode, decided once per run.

Why buffer per round: sinks (JSONL, live figures) see whole rounds, so a consumer never
observes a half-applied round; on an error the partial round is flushed anyway, so a
failure mid-run keeps every event recorded so far.

Two logging modes, the same totals (every metric sums the ``count`` column):

* per message: one ``MessageSent`` and one ``MessageDelivered`` per message, one
  ``AgentReplied`` per reply — what a spec with ``logging = "messages"`` asks for, and
  what a run must do when single messages matter (faults acting on messages) or when
  an agent is answered one call at a time (per-agent backends);
* aggregated (``logging = "rounds"``, batched backends, no message faults): one counted
  event per round and answer — a 1,000-agent round costs a handful of events.

:class:`LogMode` is that decision, made once by :meth:`LogMode.for_run` with its reason;
the network and the workload pick their recording path from it when they are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from llmteams_lab.events import Event
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import MESSAGE_KINDS, FaultSpec

__all__ = ["EventLog", "LogMode"]


@dataclass(frozen=True)
class LogMode:
    """How a run records its messages and replies (see the module docstring)."""

    per_message: bool
    why: str

    @classmethod
    def for_run(cls, spec: TeamSpec, batched: Iterable[bool]) -> "LogMode":
        """The mode of a run of ``spec`` whose backend groups are ``batched`` or not."""
        if spec.logging == "messages":
            return cls(True, "the spec asks for logging = 'messages'")
        if not all(batched):
            return cls(True, "some agents are answered one call at a time (per-agent backends)")
        if needs_messages(spec.faults):
            return cls(True, "faults act on single messages")
        return cls(False, "logging = 'rounds' with batched backends")


def needs_messages(faults: Iterable[FaultSpec]) -> bool:
    """Whether these faults act on single messages (so the run must log each one)."""
    return any(f.kind in MESSAGE_KINDS for f in faults)


class EventLog:
    """Numbers events (``seq``), keeps them all, and forwards each round to sinks."""

    def __init__(self, run_id: str, sinks: Sequence[Sink] = ()):
        self.run_id = run_id
        self.sinks = list(sinks)
        self.events: list[Event] = []
        self.seq = 0
        self._flushed = 0

    def add(self, cls: type[Event], round: int, agent: str | None = None, peer: str | None = None,
            **fields) -> Event:
        event = cls(self.run_id, round, self.seq, agent, peer, **fields)
        self.seq += 1
        self.events.append(event)
        return event

    def pending(self) -> list[Event]:
        return self.events[self._flushed:]

    def flush(self) -> None:
        """Send every event not yet sent to each sink."""
        if not self.sinks:  # nothing to send: skip copying the round (8,064 events at n = 64)
            self._flushed = len(self.events)
            return
        batch = self.events[self._flushed:]
        self._flushed = len(self.events)
        if batch:
            for sink in self.sinks:
                sink.write(batch)

    def close(self) -> None:
        self.flush()
        for sink in self.sinks:
            sink.close()
