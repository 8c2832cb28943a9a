"""One run's events as the property checks read them: :class:`RunLog`.

Why a module of its own: every check — the deliberation protocols'
(``metrics.deliberation_checks``), the coordination workloads'
(``metrics.coordination_checks``) — reads the same few things from a run (its spec from
``RunStarted``, its decisions, who held which answer after each round), and
``metrics.safety`` builds one :class:`RunLog` per run and hands it to each. Computing them
once, on demand, keeps a dozen checks of a long run from re-reading its log a dozen times.

A check returns a :data:`Verdict` ``(ok, prefix_rounds, detail)``: ``ok`` is null when the
log cannot tell (:data:`PER_AGENT`: aggregated logging has no per-agent rows), and
``prefix_rounds`` is the shortest prefix of rounds on which a violation already shows.
"""

from __future__ import annotations

from functools import cached_property

import polars as pl

from llmteams_lab.errors import SpecError
from llmteams_lab.metrics.consensus import held_answers
from llmteams_lab.spec import TeamSpec

__all__ = ["DECISION_REASONS", "PER_AGENT", "RunLog", "Verdict"]

DECISION_REASONS = ("consensus", "leader_decided", "quorum", "voted")
Verdict = tuple["bool | None", "int | None", str]  # (ok, prefix_rounds, detail)
PER_AGENT: Verdict = (None, None, "needs per-agent replies (logging = 'messages')")


class RunLog:
    """One run's events and what the checks read from them (computed once, on demand)."""

    def __init__(self, run_id: str, events: pl.DataFrame, k: int | None = None):
        self.run_id, self.events, self.k = run_id, events, k

    @cached_property
    def spec(self) -> TeamSpec | None:
        start = self.events.filter(pl.col("kind") == "RunStarted")["detail"]
        try:
            return TeamSpec.from_json(start[0]) if start.len() and start[0] else None
        except (SpecError, ValueError):
            return None

    @cached_property
    def decisions(self) -> list[tuple[int, str | None]]:
        """(round, value) of every round that ended with a protocol decision, in order."""
        ends = self.events.filter((pl.col("kind") == "RoundEnded") & pl.col("detail").is_in(DECISION_REASONS))
        return list(ends.sort("seq").select("round", "value").iter_rows())

    @cached_property
    def held(self) -> pl.DataFrame:
        """Per round and answer: live agents holding it (``metrics.consensus.held_answers``)."""
        return held_answers(self.events)

    @cached_property
    def per_agent(self) -> bool:
        kinds = set(self.events["kind"].unique().to_list())
        return "AgentReplied" in kinds or "AnswersTallied" not in kinds

    @property
    def last_round(self) -> int:
        return self.events.filter(pl.col("kind") == "RoundEnded")["round"].max() or 0

    def holders(self, round: int) -> tuple[dict[str | None, int], int]:
        """Live agents per answer held after ``round`` and how many live agents counted."""
        rows = self.held.filter(pl.col("round") == round).select("value", "count").rows()
        return dict(rows), sum(c for _, c in rows)
