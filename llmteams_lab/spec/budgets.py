"""Limits a run must respect. A run checks them *before* each round and never starts
a round it cannot afford; the reason it stopped is recorded in ``RunEnded``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace


@dataclass(frozen=True)
class Budgets:
    """max_rounds (>= 1), and optional caps on tokens, dollars and clock seconds."""

    max_rounds: int = 10
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_wall_s: float | None = None

    def __post_init__(self) -> None:
        c.int_at_least("max_rounds", self.max_rounds, 1, c.MAX_ROUNDS)
        c.optional(c.int_at_least, "max_tokens", self.max_tokens, 0)
        if self.max_cost_usd is not None:
            object.__setattr__(self, "max_cost_usd", c.non_negative("max_cost_usd", self.max_cost_usd))
        if self.max_wall_s is not None:
            object.__setattr__(self, "max_wall_s", c.non_negative("max_wall_s", self.max_wall_s, c.MAX_SECONDS))

    def replace(self, **changes: Any) -> "Budgets":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "Budgets":
        return from_dict(cls, data, path)
