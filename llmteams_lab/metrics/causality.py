"""Happened-before, from the events alone.

Every event happens at one agent — its *lane*: the receiver (``peer``) for the delivery,
drop or delay of a message, otherwise ``agent`` (team events such as rounds have no
lane). On a lane, events happen in the order of their time (``t_end``, ties by
``seq``). ``cause`` links an event to the one that caused it on another lane: a
delivery to its send, a send to the reply it was sent in, a reply to the delivery or
suspicion that woke its agent. Lamport's happened-before is the transitive closure of
lane order and cause links; :func:`vector_clocks` computes it as vector clocks, and
:func:`check_causality` checks that the log is consistent with it:

* ``cause_exists``   a cause names an earlier event of the same run;
* ``message_cause``  a delivery, drop or delay names its ``MessageSent`` (same sender and
                     receiver) and does not end before it was sent;
* ``wake_cause``     a reply that names what woke it started no earlier than that
                     delivery (or suspicion) ended, at the same agent;
* ``clock_order``    every cause ends no later than its effect — so processing events in
                     time order visits causes first and the vector clocks are consistent
                     (a cause's clock is strictly below its effect's).

An empty result means the log is causally consistent. The checks are the property test
of the asynchronous engine (``tests/runtime/test_asynchronous.py``) and work on any log.
"""

from __future__ import annotations

import polars as pl

__all__ = ["check_causality", "happened_before", "lanes", "vector_clocks"]

_MESSAGE_FATES = ("MessageDelivered", "MessageDropped", "MessageDelayed")
_VIOLATION = {"run_id": pl.String, "seq": pl.Int64, "rule": pl.String, "detail": pl.String}


def lanes(events: pl.DataFrame) -> pl.DataFrame:
    """The events with their ``lane`` (see the module docstring)."""
    lane = pl.when(pl.col("kind").is_in(_MESSAGE_FATES)).then(pl.col("peer")).otherwise(pl.col("agent"))
    return events.with_columns(lane=lane)


def check_causality(events: pl.DataFrame) -> pl.DataFrame:
    """Violations of the rules in the module docstring: (run_id, seq, rule, detail)."""
    ev = lanes(events).select("run_id", "seq", "kind", "agent", "peer", "t_start", "t_end", "cause", "lane")
    causes = ev.select("run_id", c_seq="seq", c_kind="kind", c_agent="agent", c_peer="peer", c_start="t_start",
                       c_end="t_end", c_lane="lane")
    linked = ev.filter(pl.col("cause").is_not_null()).join(
        causes, left_on=["run_id", "cause"], right_on=["run_id", "c_seq"], how="left")
    rules = [
        ("cause_exists", pl.col("c_kind").is_null() | (pl.col("cause") >= pl.col("seq")),
         pl.format("cause {} is not an earlier event", pl.col("cause"))),
        ("message_cause", pl.col("kind").is_in(_MESSAGE_FATES) & pl.col("c_kind").is_not_null()
         & ((pl.col("c_kind") != "MessageSent") | (pl.col("c_agent") != pl.col("agent"))
            | (pl.col("c_peer") != pl.col("peer")) | (pl.col("t_end") < pl.col("c_start"))),
         pl.format("{} of {}→{} caused by {} {}→{} sent at {}", pl.col("kind"), pl.col("agent"), pl.col("peer"),
                   pl.col("c_kind"), pl.col("c_agent"), pl.col("c_peer"), pl.col("c_start"))),
        ("wake_cause", pl.col("kind").is_in(("AgentReplied", "AgentFailed")) & pl.col("c_kind").is_not_null()
         & ((pl.col("c_lane") != pl.col("agent")) | (pl.col("t_start") < pl.col("c_end"))),
         pl.format("{} started at {} but was woken by {} at {} (lane {})", pl.col("agent"), pl.col("t_start"),
                   pl.col("c_kind"), pl.col("c_end"), pl.col("c_lane"))),
        ("clock_order", pl.col("c_kind").is_not_null() & (pl.col("c_end") > pl.col("t_end")),
         pl.format("caused by an event that ends later ({} > {})", pl.col("c_end"), pl.col("t_end"))),
    ]
    found = [linked.filter(cond).select("run_id", "seq", rule=pl.lit(name), detail=detail) for name, cond, detail in rules]
    out = pl.concat(found) if found else pl.DataFrame(schema=_VIOLATION)
    return out.cast(_VIOLATION).sort("run_id", "seq", "rule")  # type: ignore[arg-type]


def vector_clocks(events: pl.DataFrame) -> dict[int, tuple[int, ...]]:
    """Per ``seq`` of a lane event, its vector clock (one component per agent, in the
    order agents first appear); one run's events. O(events × agents): for inspecting
    small runs and for tests, not for a million-event log."""
    ev = lanes(events).filter(pl.col("lane").is_not_null()).sort("t_end", "seq")
    agents = sorted(set(ev["lane"].to_list()) | {a for a in ev["agent"].to_list() if a is not None})
    index = {a: i for i, a in enumerate(agents)}
    last: dict[str, tuple[int, ...]] = {}
    clocks: dict[int, tuple[int, ...]] = {}
    zero = (0,) * len(agents)
    for seq, lane, cause in ev.select("seq", "lane", "cause").iter_rows():
        clock = list(last.get(lane, zero))
        if cause is not None and cause in clocks:
            clock = [max(a, b) for a, b in zip(clock, clocks[cause])]
        clock[index[lane]] += 1
        clocks[seq] = last[lane] = tuple(clock)
    return clocks


def happened_before(events: pl.DataFrame, first: int, second: int) -> bool:
    """Whether event ``first`` happened before event ``second`` (by ``seq``; one run)."""
    clocks = vector_clocks(events)
    a, b = clocks.get(first), clocks.get(second)
    return a is not None and b is not None and a != b and all(x <= y for x, y in zip(a, b))
