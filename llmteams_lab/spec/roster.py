"""A generated team's agents as one description: a template and a size, not n objects.

``team(n)`` and ``size = n`` make agents ``a0 .. a{n-1}`` that differ only in their id.
Validating and keeping a million such :class:`AgentSpec` values took ~19 s and hundreds
of megabytes before anything ran; a :class:`Roster` validates the template once and is
a read-only sequence that makes an agent only when one is asked for. Code that reads
one field of every agent asks :func:`values` (one value for a roster), so a
population-scale run never walks a million agents to learn that they are all
simulated.

A roster equals the tuple of its agents (and hashes like it), so a spec built either
way is the same spec. Its dict form is the list of agents, as before, up to
:data:`LISTED_MAX_AGENTS` agents — every team that could be written before keeps its
JSON and so its run id —, and ``{"size": n, "agent": {...}}`` above it (a list of a
million identical tables is ~250 MB of JSON in every ``RunStarted`` event).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Iterator, overload

from llmteams_lab.spec.agent import AgentSpec

__all__ = ["LISTED_MAX_AGENTS", "Roster", "column", "values"]

LISTED_MAX_AGENTS = 100_000  # the team-size cap before rosters: larger teams are written compactly


class Roster(Sequence):
    """Agents ``a0 .. a{n-1}``, each ``template`` with its own id (module docstring)."""

    _SPEC_SEQUENCE = True  # taken as it is by ``spec._fields`` (already built and checked)

    def __init__(self, template: AgentSpec, n: int):
        self.template, self.n = template, n
        self._agents: tuple[AgentSpec, ...] | None = None

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> AgentSpec: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[AgentSpec, ...]: ...

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self._agent(j) for j in range(*i.indices(self.n)))
        j = i.__index__()
        if j < 0:
            j += self.n
        if not 0 <= j < self.n:
            raise IndexError(i)
        return self._agents[j] if self._agents is not None else self._agent(j)

    def __iter__(self) -> Iterator[AgentSpec]:
        """Every agent; made once and kept (a run reads them several times)."""
        if self._agents is None:
            self._agents = tuple(self._agent(j) for j in range(self.n))
        return iter(self._agents)

    def _agent(self, j: int) -> AgentSpec:
        """The template with id ``a{j}``: a copy of its validated fields (an id of that
        form is a valid id), not a new validation."""
        agent = object.__new__(AgentSpec)
        agent.__dict__.update(self.template.__dict__)
        agent.__dict__["id"] = f"a{j}"
        return agent

    def ids(self) -> tuple[str, ...]:
        return tuple(f"a{j}" for j in range(self.n))

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Roster):
            return self.n == other.n and self.template == other.template
        if isinstance(other, (tuple, list)):
            return len(other) == self.n and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # equal to the tuple of its agents, so hashed like it

    def __repr__(self) -> str:
        return f"Roster({self.n:,} x {self.template!r})"

    def compact(self) -> bool:
        """Whether the dict form is ``size`` + ``agent`` (above :data:`LISTED_MAX_AGENTS`)."""
        return self.n > LISTED_MAX_AGENTS

    def listed(self) -> list[dict[str, Any]]:
        """The list form: each agent's dict (the template's, with its id in its place)."""
        base = self.template.to_dict()
        return [{**base, "id": f"a{j}"} for j in range(self.n)]

    def template_dict(self) -> dict[str, Any]:
        """The ``agent`` table of the compact form: the template without its id."""
        data = self.template.to_dict()
        del data["id"]
        return data


def column(agents: Sequence[AgentSpec], field: str) -> list[Any]:
    """One field of every agent, in order (a roster's: its template's value n times,
    without making the agents)."""
    if isinstance(agents, Roster):
        return [getattr(agents.template, field)] * agents.n
    return [getattr(a, field) for a in agents]


def values(agents: Sequence[AgentSpec], field: str) -> set[Any]:
    """The distinct values of one field over ``agents`` (a roster's: its template's)."""
    if isinstance(agents, Roster):
        return {getattr(agents.template, field)}
    return {getattr(a, field) for a in agents}
