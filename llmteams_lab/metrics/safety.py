"""Safety and liveness properties over a run's events, with the shortest prefix showing a violation.

Each protocol declares the properties it promises (``Protocol.properties`` in
``protocols``); :func:`check_run` reads the protocol from the spec in the run's
``RunStarted``, runs exactly those checks and says which (one row per run and check).
The checks live in one registry, :data:`PROPERTIES`. A new protocol (leader election,
two-phase commit, sagas, gossip ...) names its properties on its protocol class and adds
one :class:`Property` per new name to the registry below — nothing else changes.

The coordination workloads' properties (leader election, atomic commit and sagas, gossip)
are listed in ``metrics.coordination_checks``.

The deliberation protocols' properties (plurality, quorum certificates, termination …)
and the consensus problem's (agreement, validity) are listed in
``metrics.deliberation_checks``. Every check reads one run's :class:`RunLog`
(``metrics.run_log``).

A team *decides* in a round whose ``RoundEnded`` carries a protocol reason (voted,
consensus, quorum, leader_decided); its value may be null (a leader that was down).
A violation comes with ``prefix_rounds``: the shortest prefix of rounds (events with
``round <= prefix_rounds``) on which the check already fails; one round fewer passes.
``ok`` is null when the log cannot tell (aggregated logging has no per-agent rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import polars as pl

from llmteams_lab.errors import ArgumentError
from llmteams_lab.metrics.coordination_checks import CHECKS as _COORDINATION
from llmteams_lab.metrics.deliberation_checks import CHECKS as _DELIBERATION
from llmteams_lab.metrics.run_log import DECISION_REASONS, RunLog, Verdict
from llmteams_lab.protocols import PROTOCOLS
from llmteams_lab.spec import TeamSpec
from llmteams_lab.workloads import REGISTRY

__all__ = ["DECISION_REASONS", "PROPERTIES", "Property", "RunLog", "check_agreement", "check_run",
           "check_termination", "check_validity", "declared_properties", "prefix"]

_SCHEMA = {"run_id": pl.String, "protocol": pl.String, "check": pl.String, "kind": pl.String, "ok": pl.Boolean,
           "prefix_rounds": pl.Int64, "detail": pl.String}


@dataclass(frozen=True)
class Property:
    """A named property: ``kind`` safety | liveness, what it says, and its check."""

    name: str
    kind: str
    says: str
    check: Callable[[RunLog], Verdict]


PROPERTIES: dict[str, Property] = {name: Property(name, kind, says, check) for name, (kind, says, check) in (
    # deliberation protocols and the consensus problem: see metrics.deliberation_checks
    *_DELIBERATION.items(),
    # coordination workloads (election, commit, gossip): see metrics.coordination_checks
    *_COORDINATION.items(),
)}


def declared_properties(spec: TeamSpec | None) -> tuple[str, tuple[str, ...]]:
    """``(protocol, property names)`` a run of ``spec`` promises: its workload's
    (``WorkloadKind.properties``), else its deliberation protocol's (none for work division)."""
    if spec is None:
        return "unknown", ()
    kind = REGISTRY.get(spec.task.kind)
    if kind is not None and kind.properties is not None:
        return kind.properties(spec)
    if spec.task.kind == "work_division":
        return "work_division", ()
    protocol = PROTOCOLS[spec.protocol.kind]
    return protocol.kind, protocol.properties


def _names(properties: Sequence[str] | None) -> tuple[str, ...] | None:
    if properties is None:
        return None
    names = (properties,) if isinstance(properties, str) else tuple(properties)
    unknown = [n for n in names if n not in PROPERTIES]
    if unknown:
        raise ArgumentError("properties", f"must name properties of {sorted(PROPERTIES)}", unknown)
    return names


def check_run(events: pl.DataFrame, k: int | None = None, *,
              properties: Sequence[str] | None = None) -> pl.DataFrame:
    """Check every run in ``events``: by default the properties its protocol declares
    (plus ``termination`` within ``k`` rounds when ``k`` is given); ``properties`` names
    the checks to run instead. One row per run and check (``protocol``, ``check``,
    ``kind``, ``ok``, ``prefix_rounds``, ``detail``); a run whose protocol declares none
    gets one row saying so."""
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise ArgumentError("k", "must be an integer >= 1", k)
    chosen, rows = _names(properties), []
    for run_id in events.select(pl.col("run_id").unique(maintain_order=True))["run_id"].to_list():
        run = RunLog(run_id, events.filter(pl.col("run_id") == run_id), k)
        protocol, declared = declared_properties(run.spec)
        names = chosen if chosen is not None else declared + (("termination",) if k and "termination"
                                                                not in declared else ())
        if not names:
            why = "the run's RunStarted carries no spec" if run.spec is None else f"{protocol} declares none"
            rows.append((run_id, protocol, None, None, None, None, f"no properties to check: {why}; pass "
                                                                    "properties=(...) to choose checks"))
        for name in names:
            prop = PROPERTIES[name]
            rows.append((run_id, protocol, name, prop.kind, *prop.check(run)))
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row").sort("run_id", "check", nulls_last=True)


def check_agreement(events: pl.DataFrame) -> pl.DataFrame:
    """The consensus problem's agreement (every correct agent's last answer is the
    decision) for every run — promised by no deliberation protocol (module doc)."""
    return check_run(events, properties=("agreement",))


def check_validity(events: pl.DataFrame) -> pl.DataFrame:
    """The consensus problem's validity (some correct agent first proposed the
    decision) for every run (module doc)."""
    return check_run(events, properties=("validity",))


def check_termination(events: pl.DataFrame, k: int) -> pl.DataFrame:
    """Did each run decide within ``k`` rounds? (liveness; module doc)"""
    if k is None:
        raise ArgumentError("k", "must be an integer >= 1", k)
    return check_run(events, k, properties=("termination",))


def prefix(events: pl.DataFrame, run_id: str, rounds: int) -> pl.DataFrame:
    """The run's events of rounds ``0 .. rounds`` (what a violation's witness is)."""
    return events.filter((pl.col("run_id") == run_id) & (pl.col("round") <= rounds))
