"""How the lab logs a team's rounds: per message, or per round in aggregate for huge teams.

Why: a round of a 1,000-agent complete team sends a million messages; logged one row per
message it would take seconds, and the lab must step it in milliseconds. Above
:data:`PER_MESSAGE_LIMIT` messages a round the lab runs the team with aggregated logging
(``logging = "rounds"``: per-round counts) and says so (``LabController.logging_note``).
Message-level faults and forks past round 0 need per-message rows, so they are refused
for such runs (``LabController.can_fork``).
"""

from __future__ import annotations

from llmteams_lab.spec import TeamSpec

__all__ = ["PER_MESSAGE_LIMIT", "lab_logging", "messages_per_round"]

# Above this many messages a round, the lab logs rounds in aggregate (see the module doc).
PER_MESSAGE_LIMIT = 10_000


def messages_per_round(spec: TeamSpec) -> int:
    """Messages one round of ``spec`` sends when everyone talks (its topology's arcs)."""
    n = len(spec.agents)
    if spec.topology.kind == "complete":
        return n * (n - 1)
    return len(spec.arcs())


def lab_logging(spec: TeamSpec) -> tuple[TeamSpec, str]:
    """The spec the lab runs (aggregated logging for huge rounds) and a note saying why."""
    if spec.logging != "messages":
        return spec, ""
    count = messages_per_round(spec)
    if count <= PER_MESSAGE_LIMIT:
        return spec, ""
    note = (f"{count:,} messages a round: logged per round (counts, not one row per message) so each round "
            f"takes milliseconds; message-level faults (drop, partition …) need a smaller team")
    return spec.replace(logging="rounds"), note

