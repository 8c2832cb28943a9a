"""What an LLM-backed sweep can cost at most, before it starts.

A sweep of real model calls can be expensive, and a typo in a grid (``seeds=range(1000)``)
should not become a bill. Each LLM-backed run is bounded by the engine's own
worst-case check (``Run.worst_case_round``: per agent the completion cap plus its prompt
with a full inbox) times its rounds and the calls its failure policy may retry; simulated
agents cost nothing. The sweep prints the bound and, above a threshold, asks first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from llmteams_lab.runtime import Run
from llmteams_lab.spec import TeamSpec

__all__ = ["CostBound", "uses_llm", "worst_case_cost"]


@dataclass(frozen=True)
class CostBound:
    """The most tokens and dollars some runs can spend; ``runs`` of them call an LLM."""

    tokens: int
    usd: float
    runs: int
    bounded: bool = True

    def describe(self) -> str:
        bound = "" if self.bounded else " (some backends give no bound: at least)"
        return (f"worst case for {self.runs:,} LLM-backed run(s){bound}: {self.tokens:,} tokens, "
                f"${self.usd:,.2f}")


def uses_llm(spec: TeamSpec) -> bool:
    return any(a.backend == "openai" for a in spec.agents)


def worst_case_cost(runs: Iterable[TeamSpec]) -> CostBound:
    """The bound over ``runs`` (each a spec with its seed)."""
    tokens, usd, count, bounded = 0, 0.0, 0, True
    for spec in runs:
        if not uses_llm(spec):
            continue
        run = Run(spec)  # builds the backends without calling them (clients open lazily)
        round_tokens, round_usd, is_bound = run.worst_case_round()
        factor = spec.budgets.max_rounds * spec.failure_policy.attempts
        tokens += round_tokens * factor
        usd += round_usd * factor
        count += 1
        bounded = bounded and is_bound
    return CostBound(tokens, usd, count, bounded)
