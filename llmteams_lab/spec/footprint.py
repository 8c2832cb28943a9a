"""Pre-flight: what running a spec will take, so a spec that validates also fits.

A team is checked on construction against two limits, before anything is built:

* **memory** — an estimate of the bytes a run needs to build its structures and hold
  one round's events, per topology (arcs are counted in closed form, never generated).
  Everything the runtime keeps per arc is an array over the arcs (O(edges): a
  100,000-agent star needs ~0.2 GB, not the 9.3 GiB an (n, n) matrix would), so the
  estimate is a fixed cost plus per-agent, per-arc and per-event costs. The per-arc cost
  depends on how the graph is built: a complete graph and a small world above
  ``spec.smallworld.LEGACY_MAX_AGENTS`` agents come out of numpy as arrays
  (``runtime.graph``: measured 25–50 B per arc at the peak RSS of a whole run), every
  other graph as the spec's Python pairs first (~330 B per arc). Measured as the growth
  of peak RSS over a whole 10-round aggregated debate (``bench/population_scale.py``,
  CPython 3.11): ~1.0–1.3 kB per agent (its profile, id, index entries and columns), and
  ~145 B per event at the peak of a per-message round (82 B per event kept); the
  constants below round them up, so the estimate bounds what such a run takes (a
  1,000,000-agent small world, k = 10: 2.6 GB estimated, 0.9 GB measured);
* **setup work** — ``erdos_renyi`` draws one number per pair of agents, so its pairs
  are capped (5·10⁷ pairs take ~15 s; a 100,000-agent one would take hours).

The event log grows by the per-round figure every round a run lasts (``run.events``
keeps every event): a long per-message run of a dense team can still outgrow memory
later — ``logging = "rounds"`` keeps it to a few events per round. The limit is
:data:`MEMORY_LIMIT_BYTES`, a constant rather than the machine's free memory, so a
spec validates the same way on every machine; raise it for a bigger machine with
``llmteams_lab.spec.footprint.MEMORY_LIMIT_BYTES = 16 * 2**30``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmteams_lab.errors import SpecError
from llmteams_lab.spec.roster import values
from llmteams_lab.spec.smallworld import LEGACY_MAX_AGENTS

if TYPE_CHECKING:  # pragma: no cover
    from llmteams_lab.spec.team import TeamSpec

__all__ = ["Footprint", "MAX_RANDOM_PAIRS", "MEMORY_LIMIT_BYTES", "arc_count", "arrays", "check_fits", "estimate"]

MEMORY_LIMIT_BYTES = 4 * 2**30
MAX_RANDOM_PAIRS = 5 * 10**7
BYTES_FIXED = 32 * 2**20     # what any run adds: the engine's lazily imported modules, its loop, arenas
BYTES_PER_AGENT = 1_600      # agent records, ids, index entries, per-agent columns (measured 1.0-1.3 kB)
BYTES_PER_ARC = 400          # a graph built as Python pairs, then arc columns (measured ~330)
BYTES_PER_ARRAY_ARC = 100    # a graph built as numpy arrays (complete; large small world: measured 25-50)
BYTES_PER_FAULT_ARC = 64     # a round's per-arc fault masks and draws
BYTES_PER_EVENT = 200        # one event at a round's peak (measured ~145; 82 B once kept)
BYTES_PER_INBOX_MESSAGE = 150  # one message record built for a per-agent backend's request
_MESSAGE_KINDS = ("corrupt", "delay", "drop", "duplicate", "equivocator", "partition", "prompt_injection",
                  "reorder")


@dataclass(frozen=True)
class Footprint:
    """What a run of a spec takes: ``arcs``, bytes to build it, bytes of one round."""

    agents: int
    arcs: int
    per_message: bool
    build_bytes: int
    round_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.build_bytes + self.round_bytes


def arc_count(spec: "TeamSpec") -> int:
    """Directed arcs of the spec's topology, in closed form (``erdos_renyi``: the
    expected count plus a margin; ``edges``: the listed edges, an upper bound)."""
    n, topo = len(spec.agents), spec.topology
    pairs = n * (n - 1)
    if topo.kind == "complete":
        return pairs
    if topo.kind in ("star", "tree"):
        return 2 * (n - 1)
    if topo.kind == "ring":
        return 2 * n if n > 2 else pairs
    if topo.kind == "small_world":
        return min(pairs, n * topo.k)
    if topo.kind == "erdos_renyi":
        return min(pairs, int(topo.p * pairs * 1.1) + 100)
    return len(topo.edges) * (1 if topo.directed else 2)


def arrays(spec: "TeamSpec") -> bool:
    """Whether the runtime builds the spec's arcs as numpy arrays (``runtime.graph.team_arcs``)."""
    topo = spec.topology
    return topo.kind == "complete" or (topo.kind == "small_world" and len(spec.agents) > LEGACY_MAX_AGENTS)


def estimate(spec: "TeamSpec") -> Footprint:
    """The :class:`Footprint` of running ``spec`` (see the module docstring)."""
    n, arcs = len(spec.agents), arc_count(spec)
    message_faults = any(f.kind in _MESSAGE_KINDS for f in spec.faults)
    per_agent_backends = spec.task.kind == "work_division" or values(spec.agents, "backend") != {"simulated"}
    per_message = spec.logging == "messages" or per_agent_backends or message_faults
    per_arc = BYTES_PER_ARRAY_ARC if arrays(spec) else BYTES_PER_ARC
    build = BYTES_FIXED + BYTES_PER_AGENT * n + per_arc * arcs + (BYTES_PER_FAULT_ARC * arcs if spec.faults else 0)
    events = 2 * arcs + 2 * n + 8 if per_message else 64
    inbox = BYTES_PER_INBOX_MESSAGE * arcs if per_agent_backends else 0
    return Footprint(n, arcs, per_message, build, BYTES_PER_EVENT * events + inbox)


def check_fits(spec: "TeamSpec") -> None:
    """Raise :class:`SpecError` when running ``spec`` would exceed the memory limit or
    the setup-work limit (see the module docstring)."""
    n, topo = len(spec.agents), spec.topology
    if topo.kind == "erdos_renyi" and n * (n - 1) // 2 > MAX_RANDOM_PAIRS:
        raise SpecError("topology.kind", f"'erdos_renyi' draws one number per pair of agents: {n} agents are "
                        f"{n * (n - 1) // 2:,} pairs, above the limit of {MAX_RANDOM_PAIRS:,} (use "
                        "'small_world' or fewer agents)", topo.kind)
    found = estimate(spec)
    if found.total_bytes > MEMORY_LIMIT_BYTES:
        how = "per-message logging" if found.per_message else "aggregated logging"
        raise SpecError("topology", f"needs about {found.total_bytes / 2**30:.1f} GiB to run ({n:,} agents, "
                        f"{found.arcs:,} arcs, {how}), above the limit of {MEMORY_LIMIT_BYTES / 2**30:.1f} GiB "
                        "(llmteams_lab.spec.footprint.MEMORY_LIMIT_BYTES): use a sparser topology, fewer agents"
                        + (" or logging = 'rounds'" if found.per_message else ""), show_got=False)
