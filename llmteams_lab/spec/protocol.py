"""How the team turns individual answers into a decision.

majority  one round, plurality of answers (ties: the first option in option order)
weighted  one round, plurality weighted by reported confidence
debate    rounds of broadcasting answers to neighbours; stop at agreement or budget
leader    star: followers answer and report, the leader aggregates and decides
quorum    rounds until >= q agents hold the same answer (default q = 2f + 1,
          f = faulty agents tolerated, default floor((n - 1) / 3))

``wait`` (asynchronous teams only): when an idle agent acts on what arrived — see
:attr:`ProtocolSpec.waits_for`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmteams_lab.spec import _check as c
from llmteams_lab.spec._fields import from_dict, to_dict
from llmteams_lab.spec._fields import replace as _replace

PROTOCOLS = ("debate", "leader", "majority", "quorum", "weighted")
WAITS = ("all", "any", "quorum")
ONE_SHOT = ("majority", "weighted")
MAX_MEMBERS = 100_000  # quorum / faulty: never more than the largest team


@dataclass(frozen=True)
class ProtocolSpec:
    """The decision protocol and its parameters (see the module docstring)."""

    kind: str = "debate"
    quorum: int | None = None
    faulty: int | None = None
    stop_at_consensus: bool = True
    wait: str | None = None

    def __post_init__(self) -> None:
        c.one_of("kind", self.kind, PROTOCOLS)
        c.optional(c.int_at_least, "quorum", self.quorum, 1, MAX_MEMBERS)
        c.optional(c.int_at_least, "faulty", self.faulty, 0, MAX_MEMBERS)
        c.boolean("stop_at_consensus", self.stop_at_consensus)
        c.optional(c.one_of, "wait", self.wait, WAITS)

    @property
    def waits_for(self) -> str:
        """When an idle agent of an asynchronous team acts: on ``any`` arrival (the
        default), once it has heard from ``all`` in-neighbours it does not suspect since
        its last reply, or from a ``quorum`` of them (q − 1 peers: with itself, q)."""
        return self.wait or "any"

    def quorum_size(self, n: int) -> int:
        """q: the explicit quorum, else 2f + 1 with f = ``faulty`` or floor((n-1)/3)."""
        if self.quorum is not None:
            return self.quorum
        f = self.faulty if self.faulty is not None else (n - 1) // 3
        return 2 * f + 1

    def replace(self, **changes: Any) -> "ProtocolSpec":
        return _replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> "ProtocolSpec":
        return from_dict(cls, data, path)
