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

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from llmteams_lab.events import Event
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.runtime.store import EventStore, EventView
from llmteams_lab.spec import TeamSpec
from llmteams_lab.spec.faults import MESSAGE_KINDS, FaultSpec
from llmteams_lab.spec.roster import values

__all__ = ["EventLog", "LogBatch", "LogMode"]


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
        if values(spec.agents, "recipients") != {None} or values(spec.agents, "fanout") != {None}:
            return cls(True, "agents address their messages to some neighbours only")

        return cls(False, "logging = 'rounds' with batched backends")


def needs_messages(faults: Iterable[FaultSpec]) -> bool:
    """Whether these faults act on single messages (so the run must log each one)."""
    return any(f.kind in MESSAGE_KINDS for f in faults)


class EventLog:
    """Numbers events (``seq``: the position in the log), keeps them all in a columnar
    :class:`~llmteams_lab.runtime.store.EventStore`, and forwards each round to sinks.

    ``ids`` are the team's agent ids, interned first so agent index *i* is string code
    *i + 1* in bulk appends (:meth:`block`)."""

    def __init__(self, run_id: str, sinks: Sequence[Sink] = (), ids: Sequence[str] = ()):
        self.run_id = run_id
        self.sinks = list(sinks)
        self.store = EventStore(run_id, ids)
        self.events = EventView(self.store)
        self._flushed = 0

    @property
    def seq(self) -> int:
        """The ``seq`` the next event gets."""
        return len(self.store)

    def add(self, cls: type[Event], round: int, agent: str | None = None, peer: str | None = None,
            **fields) -> Event:
        event = cls(self.run_id, round, len(self.store), agent, peer, **fields)
        self.store.append(event)
        return event

    def row(self, kind: str, round: int, *, t_start: float = 0.0, t_end: float = 0.0, value: str | None = None,
            correct: bool | None = None, tokens_in: int = 0, tokens_out: int = 0, cost_usd: float | None = None,
            fault: str | None = None, detail: str | None = None, count: int = 1) -> int:
        """Append one team-level event of kind ``kind`` (no agent, peer or cause) and
        return its ``seq``: what :meth:`add` stores, without building the typed event —
        the engine's few events per round (round start and end, tallies, message counts)
        take this path, which costs a third of :meth:`add`."""
        store = self.store
        code = store.table.code
        return store.append_codes(store.kind_code(kind), round, 0, 0, t_start, t_end, code(value),
                                  0 if correct is None else 1 + bool(correct), tokens_in, tokens_out,
                                  math.nan if cost_usd is None else cost_usd, code(fault), code(detail), count, -1)

    def block(self, event: str, length: int, /, **columns) -> int:
        """Append ``length`` events of kind ``event`` from column arrays (see
        :meth:`EventStore.append_block`); returns the ``seq`` of the first."""
        first = len(self.store)
        self.store.append_block(event, length, **columns)
        return first

    def code(self, text: str | None) -> int:
        """The string code of ``text`` for bulk appends."""
        return self.store.table.code(text)

    def codes(self, texts: Sequence[str | None]) -> np.ndarray:
        return self.store.table.codes(texts)

    def extend(self, events: Sequence[Event]) -> None:
        """Append recorded events as they are (replays); their ``seq`` is their position."""
        for event in events:
            self.store.append(event)

    def truncate(self, length: int) -> None:
        """Keep only the first ``length`` events (a fork replaces the tail); sinks are not told."""
        self.store.truncate(length)
        self._flushed = min(self._flushed, length)

    def snapshot(self) -> EventView:
        """The events so far, fixed (later events are not in it): a result's records."""
        return EventView(self.store, len(self.store))

    def pending(self) -> list[Event]:
        return self.events[self._flushed:]

    def flush(self) -> None:
        """Send every event not yet sent to each sink, as one :class:`LogBatch`."""
        stop = len(self.store)
        if stop == self._flushed:
            return
        batch = LogBatch(self.store, self._flushed, stop)
        self._flushed = stop
        for sink in self.sinks:
            sink.write(batch)

    def close(self) -> None:
        self.flush()
        for sink in self.sinks:
            sink.close()


class LogBatch(Sequence):
    """Events ``start:stop`` of a store, handed to sinks: a sequence of typed events
    (built on first use) whose :meth:`columns` give fast sinks the arrays directly."""

    __slots__ = ("store", "start", "stop", "_events")

    def __init__(self, store: EventStore, start: int, stop: int):
        self.store, self.start, self.stop = store, start, stop
        self._events: list[Event] | None = None

    def columns(self) -> dict[str, np.ndarray]:
        return self.store.columns(self.start, self.stop)

    def _list(self) -> list[Event]:
        if self._events is None:
            self._events = self.store.events(self.start, self.stop)
        return self._events

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index):
        return self._list()[index]

    def __iter__(self):
        return iter(self._list())
