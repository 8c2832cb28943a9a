"""Event records: one type per happening, one column schema for all (level 2, stdlib).

Why tuples: a 64-agent all-to-all round emits ~8,000 message events, so an event must
cost a fraction of a microsecond to create. Every event type is a ``NamedTuple`` with
the same columns (:data:`COLUMNS`); the type's name is also stored in the ``kind``
column, so a row read back from JSONL or parquet is rebuilt as the same type.

Columns (the schema every sink, frame and metric uses):

========== ==========================================================================
run_id     stable id of the run (derived from the spec; same spec+seed → same id)
round      1-based round number (0 for run-level events such as ``RunStarted``)
seq        position of the event in the run's log (0, 1, 2 ...): the total order
kind       the event type's name, e.g. ``"MessageSent"``
agent      the acting agent's id (sender for messages); ``None`` for team events
peer       the other agent (receiver for messages); ``None`` when not applicable
t_start    start on the run's clock, seconds (virtual for simulated agents)
t_end      end on the run's clock, seconds
value      the answer / decision / task id the event is about, as text
correct    whether ``value`` is the ground truth (``None`` when unknown)
tokens_in  input tokens the event cost (replies) or carried (messages)
tokens_out output tokens
cost_usd   dollars, ``None`` when the price is unknown (never invented)
fault      the fault kind that caused or touched the event, if any
detail     free text / JSON with the rest (message text, reasons, spec JSON ...)
count      how many happenings the row stands for (1, or more in aggregated logging)
cause      ``seq`` of the event that caused this one, when there is one: a message's
           ``MessageSent`` for its delivery, drop or delay; the reply a message was sent
           in for its ``MessageSent``; the delivery or timer that woke an agent for its
           reply (asynchronous runs). With the lane rule below it makes happened-before
           checkable from the log alone (``metrics.causality``).
========== ==========================================================================

Lanes: an event happens at one agent — the receiver (``peer``) for deliveries, drops
and delays of a message, otherwise ``agent`` (none for team events such as rounds).
On a lane events happen in the order of ``t_end`` (ties by ``seq``). Event e1 happened
before e2 iff a chain of (same lane, earlier) and (``e2.cause == e1.seq``) steps leads
from e1 to e2 (``metrics.causality``).

Numbers are machine-independent. The same spec and seed give the same bytes on every
CPU and numpy build, so no number may carry the last bits of a float computation whose
result depends on the CPU (numpy's SIMD ``exp``/``log``, reductions in another order):

* times (``t_start``/``t_end``, every latency and delay) lie on a grid of whole
  microseconds (:data:`TICKS_PER_SECOND`): a latency is put on the grid at the one place
  the engine takes it from a backend (reply slots), before any arithmetic, and the
  clock only adds, subtracts and maxes such values (exact IEEE operations);
* confidences are integers in thousandths inside the engine (shown as ``/ 1000``);
* costs are rounded to 10⁻¹² dollars where they are computed (:func:`on_cost_grid`).

A one-ulp change in a drawn latency therefore changes nothing, unless the value lies
within an ulp of a half-microsecond, which for latencies of seconds has odds of about
one in a billion per draw (``tests/runtime/test_float_determinism.py`` perturbs every
draw and restricts numpy's SIMD dispatch to prove it on the golden runs).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from llmteams_lab.errors import DatasetError

__all__ = [
    "AgentFailed",
    "AgentReplied",
    "AgentRetried",
    "AnswersTallied",
    "COLUMNS",
    "ClaimBlocked",
    "Event",
    "FaultApplied",
    "FileWritten",
    "LockDenied",
    "MessageDelayed",
    "MessageDelivered",
    "MessageDropped",
    "MessageSent",
    "RoundEnded",
    "RoundStarted",
    "RunEnded",
    "RunStarted",
    "Suspected",
    "TICKS_PER_SECOND",
    "TaskClaimed",
    "TaskCompleted",
    "TestsRan",
    "Unsuspected",
    "define_event",
    "event_class",
    "event_from_dict",
    "event_kinds",
    "events_to_jsonl",
    "on_cost_grid",
    "on_time_grid",
]

TICKS_PER_SECOND = 1_000_000  # the run clock's grid: whole microseconds (see the module docstring)


def on_time_grid(seconds: float) -> float:
    """``seconds`` rounded to the run clock's grid (whole microseconds, ties to even —
    the same rounding as numpy's ``rint``, so scalar and array paths agree). A value that
    is not finite is returned as it is."""
    ticks = seconds * TICKS_PER_SECOND
    if ticks != ticks or ticks in (float("inf"), float("-inf")):
        return seconds
    return round(ticks) / TICKS_PER_SECOND


def on_cost_grid(usd: float | None) -> float | None:
    """Dollars rounded to 10⁻¹² (``None`` stays unknown)."""
    return None if usd is None else round(usd, 12)


class Event(NamedTuple):
    """Base row. Use a concrete subclass (``MessageSent(...)``) to create events."""

    run_id: str
    round: int
    seq: int
    kind: str
    agent: str | None = None
    peer: str | None = None
    t_start: float = 0.0
    t_end: float = 0.0
    value: str | None = None
    correct: bool | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    fault: str | None = None
    detail: str | None = None
    count: int = 1
    cause: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The row as a plain dict in column order (what JSONL and frames store)."""
        return dict(zip(COLUMNS, self))

    def to_json(self) -> str:
        """One JSON line; key order and float repr are fixed, so bytes are reproducible."""
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))


COLUMNS: tuple[str, ...] = Event._fields

_REGISTRY: dict[str, type[Event]] = {}


def _kind(cls: type) -> type:
    """Turn a bare subclass into an event type whose ``kind`` column is its own name."""
    name = cls.__name__

    def __new__(
        klass,
        run_id: str,
        round: int,
        seq: int,
        agent: str | None = None,
        peer: str | None = None,
        t_start: float = 0.0,
        t_end: float = 0.0,
        value: str | None = None,
        correct: bool | None = None,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost_usd: float | None = None,
        fault: str | None = None,
        detail: str | None = None,
        count: int = 1,
        cause: int | None = None,
    ):
        return tuple.__new__(
            klass,
            (run_id, round, seq, name, agent, peer, t_start, t_end, value, correct,
             tokens_in, tokens_out, cost_usd, fault, detail, count, cause),
        )

    cls.__new__ = __new__  # type: ignore[method-assign]
    cls._make = classmethod(lambda klass, it: tuple.__new__(klass, it))  # type: ignore[assignment]
    _REGISTRY[name] = cls
    return cls


@_kind
class RunStarted(Event):
    """A run began. ``detail`` holds the spec as JSON (never any secret)."""

    __slots__ = ()


@_kind
class RoundStarted(Event):
    """A round began at ``t_start`` on the run's clock."""

    __slots__ = ()


@_kind
class MessageSent(Event):
    """``agent`` sent a message to ``peer``; ``value`` is the answer it carries."""

    __slots__ = ()


@_kind
class MessageDelivered(Event):
    """The message from ``agent`` reached ``peer``'s inbox for the next round."""

    __slots__ = ()


@_kind
class MessageDropped(Event):
    """The message from ``agent`` to ``peer`` was lost (``fault`` says why)."""

    __slots__ = ()


@_kind
class MessageDelayed(Event):
    """The message is held back; ``detail`` names the round it will be delivered in."""

    __slots__ = ()


@_kind
class AgentReplied(Event):
    """``agent`` answered ``value`` (confidence in ``detail``) with its token usage."""

    __slots__ = ()


@_kind
class AgentRetried(Event):
    """A backend call for ``agent`` failed and is being retried (attempt in ``detail``)."""

    __slots__ = ()


@_kind
class AgentFailed(Event):
    """``agent`` produced no usable reply this round; ``fault`` names the failure kind."""

    __slots__ = ()


@_kind
class AnswersTallied(Event):
    """Aggregated logging: ``count`` agents answered ``value`` this round."""

    __slots__ = ()


@_kind
class FaultApplied(Event):
    """A scheduled or live fault took effect; ``fault`` is its kind, ``detail`` its spec."""

    __slots__ = ()


@_kind
class TaskClaimed(Event):
    """``agent`` claimed task ``value`` on the task board."""

    __slots__ = ()


@_kind
class ClaimBlocked(Event):
    """``agent``'s claim of task ``value`` was refused (``detail`` says why)."""

    __slots__ = ()


@_kind
class TaskCompleted(Event):
    """``agent`` completed task ``value``."""

    __slots__ = ()


@_kind
class TestsRan(Event):
    """The tests ran after ``agent`` finished task ``detail``; ``value`` is the exit code
    (pytest's: 0 passed, 1 failed, 2 interrupted, 3 internal error), ``correct`` whether
    they passed. Failed tests mean rework."""

    __slots__ = ()
    __test__ = False  # not a pytest test class, despite its name


@_kind
class FileWritten(Event):
    """``agent`` wrote file ``value``."""

    __slots__ = ()


@_kind
class LockDenied(Event):
    """``agent`` was refused the lock on file ``value``."""

    __slots__ = ()


@_kind
class Suspected(Event):
    """``agent``'s failure detector began to suspect ``peer``: nothing heard from it for
    its timeout (``detail``). A suspicion of a slow but live peer is a false one."""

    __slots__ = ()


@_kind
class Unsuspected(Event):
    """``agent`` heard from ``peer`` again and withdrew its suspicion (it was false)."""

    __slots__ = ()


@_kind
class RoundEnded(Event):
    """The round closed; ``value`` is the team decision so far, ``correct`` its truth."""

    __slots__ = ()


@_kind
class RunEnded(Event):
    """The run ended; ``detail`` gives the reason (consensus, max_rounds, budget ...)."""

    __slots__ = ()


def define_event(name: str, doc: str) -> type[Event]:
    """A new event type ``name`` (CamelCase, past tense) for a workload's own happenings,
    e.g. ``LeaderElected = define_event("LeaderElected", "...")``. It has the one column
    schema and is stored, framed and replayed like the built-in types; defining the same
    name twice returns the first definition."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if not name.isidentifier() or not name[:1].isupper():
        raise DatasetError(f"'name' must be a CamelCase identifier (got {name[:60]!r})")
    cls = type(name, (Event,), {"__doc__": doc, "__slots__": ()})
    return _kind(cls)


def event_class(kind: str) -> type[Event]:
    """The event type named ``kind``."""
    cls = _REGISTRY.get(kind)
    if cls is None:
        raise DatasetError(f"'kind' must be one of {list(event_kinds())} (got {str(kind)[:60]!r})")
    return cls


def event_kinds() -> tuple[str, ...]:
    """Names of every event type, sorted."""
    return tuple(sorted(_REGISTRY))


def event_from_dict(row: dict[str, Any]) -> Event:
    """Rebuild a typed event from a stored row (JSONL line or frame row)."""
    cls = event_class(row.get("kind"))  # type: ignore[arg-type]
    return cls._make(row.get(c, Event._field_defaults.get(c)) for c in COLUMNS)


def events_to_jsonl(events: list[Event]) -> str:
    """The canonical text form of a log: one JSON object per line."""
    return "".join(e.to_json() + "\n" for e in events)
