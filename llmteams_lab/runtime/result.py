"""What a finished (or stopped) run hands back."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from llmteams_lab.events import Event
from llmteams_lab.spec import TeamSpec

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

__all__ = ["RunResult"]


@dataclass(frozen=True)
class RunResult:
    """A run's spec, its full event log and its outcome.

    ``records`` are the typed events (a view over the run's columnar store, rebuilt on
    demand, or a list). ``events`` is a polars DataFrame in the one column schema, built
    once on first access from the store's arrays (polars is imported only then, so the
    engine itself stays free of it) and cached: later accesses cost nothing.
    """

    spec: TeamSpec
    run_id: str
    records: Sequence[Event] = field(repr=False)
    reason: str | None
    decision: str | None
    correct: bool | None
    rounds: int

    @functools.cached_property
    def events(self) -> "pl.DataFrame":
        from llmteams_lab.metrics.frame import (
            events_frame,  # lazy: polars lives at level 7
        )

        return events_frame(self.records)

    def summary(self) -> "pl.DataFrame":
        """Per-round convergence and communication table (see ``metrics.summary``)."""
        from llmteams_lab.metrics.summary import round_summary

        return round_summary(self.events)

    def to_jsonl(self, path: Any) -> None:
        """Write the log as JSONL (one event per line)."""
        from llmteams_lab.events import events_to_jsonl

        with open(path, "w", encoding="utf-8") as fh:
            fh.write(events_to_jsonl(self.records))
