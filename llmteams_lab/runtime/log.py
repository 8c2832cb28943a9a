"""The run's event log: numbering, buffering per round, and handing rounds to sinks.

Why buffer per round: sinks (JSONL, live figures) see whole rounds, so a consumer never
observes a half-applied round; on an error the partial round is flushed anyway, so a
failure mid-run keeps every event recorded so far.
"""

from __future__ import annotations

from typing import Sequence

from llmteams_lab.events import Event
from llmteams_lab.runtime.sinks import Sink

__all__ = ["EventLog"]


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
