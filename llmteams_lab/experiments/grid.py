"""Designs from a grid: any spec path, named fault scenarios and failure policies.

A *design* is one combination of grid values applied to the base spec; a sweep runs
every design on the same seeds, so designs are compared on the same questions and
the same fault draws (both derive from the run's seed only: paired seeds).

Grid keys are spec paths as the spec's own error messages spell them:

=========================  ===================================================
``n``                      team size: agents a0..a{n-1}, copies of the first agent
``topology.kind``          a nested field (any depth: ``task.work.eagerness``)
``agents[*].competence``   a field of every agent; ``agents[2].competence`` one agent
``budgets.max_rounds``     (so is every field of every nested spec)
top-level fields           ``logging``, ``concurrency``, ``name`` ... (not ``seed``: seeds
                           are the sweep's own axis)
shorthands                 ``topology``/``protocol`` (a kind), ``max_rounds``,
                           a bare agent field (``competence``: every agent's)
``faults``                 named fault scenarios ``{"none": [], "liar": [...]}``
``failure_policy``         named policies ``{"skip": {}, "retry": {"on_error": ...}}``
=========================  ===================================================

A grid value list may be a mapping ``{label: value}`` for any key: the label is what
the results table shows (fault scenarios are always labelled). Setting a path goes
through ``TeamSpec.from_dict``, so validation and its messages are the spec's own:
``'agents[0].competence' must be in [0, 1] (got 1.5)``; a path that names no field
fails the same way (``'topology.knd' is not a known field; expected one of [...]``).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import AgentSpec, TeamSpec
from llmteams_lab.spec.roster import Roster
from llmteams_lab.spec.team import check_team_size

__all__ = ["Design", "designs", "expand_alias", "label_of", "resize", "set_path", "variant"]

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\*|\d+)\]")
_LABELLED = ("faults", "failure_policy")  # keys whose values are tables: always named
_AGENT_FIELDS = frozenset(AgentSpec.__dataclass_fields__) - {"id", "role"}


@dataclass(frozen=True)
class Design:
    """One grid combination: its labels (grid key -> shown value) and its spec (seed 0).

    ``key`` is the spec's fingerprint at seed 0: the same design in another sweep, or
    re-run later, has the same key — what resuming a sweep matches rows on."""

    labels: dict[str, Any]
    spec: TeamSpec

    @property
    def key(self) -> str:
        return self.spec.fingerprint()


def designs(base: TeamSpec, grid: Mapping[str, Any] | None) -> list[Design]:
    """Every combination of ``grid`` applied to ``base`` (in grid order, last key fastest)."""
    grid = dict(grid or {})
    if "seed" in grid:
        raise SpecError("grid['seed']", "must not be a grid key: pass seeds=... to the sweep (every design "
                        "runs on the same seeds)", grid["seed"])
    axes = [_axis(key, values) for key, values in grid.items()]
    base = base.replace(seed=0)
    out, seen = [], set()
    for combo in itertools.product(*axes):
        spec = base
        # the team size first: other keys (a fault's agent, agents[4]) may name the new agents
        for key, (_, value) in sorted(zip(grid, combo), key=lambda kv: kv[0] != "n"):
            spec = set_path(spec, key, value)
        design = Design({key: label for key, (label, _) in zip(grid, combo)}, spec)
        if design.key in seen:
            raise SpecError("grid", "must not produce the same design twice (two values of a key give the same "
                            "spec)", design.labels)
        seen.add(design.key)
        out.append(design)
    return out


def _axis(key: str, values: Any) -> list[tuple[Any, Any]]:
    """(label, value) pairs of one grid key."""
    if not isinstance(key, str) or not key:
        raise SpecError("grid", "keys must be spec paths such as 'topology.kind'", key)
    if isinstance(values, Mapping):
        pairs = [(str(label), value) for label, value in values.items()]
    elif isinstance(values, (list, tuple, range)):
        if key in _LABELLED:
            raise SpecError(f"grid[{key!r}]", "must be a mapping of names to values, e.g. "
                            "{'none': [], 'liar': [{'kind': 'byzantine', 'agent': 'a0'}]}", values)
        pairs = [(label_of(value), value) for value in values]
    else:
        raise SpecError(f"grid[{key!r}]", "must be a list of values or a mapping of names to values", values)
    if not pairs:
        raise SpecError(f"grid[{key!r}]", "must hold at least one value", values)
    labels = [label for label, _ in pairs]
    if len(set(map(json.dumps, labels))) != len(labels):
        raise SpecError(f"grid[{key!r}]", "must not repeat a value", labels)
    return pairs


def label_of(value: Any) -> Any:
    """How a grid value appears in the table: scalars as they are, others as JSON text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    plain = value.to_dict() if hasattr(value, "to_dict") else value
    if isinstance(plain, (list, tuple)):
        plain = [v.to_dict() if hasattr(v, "to_dict") else v for v in plain]
    return json.dumps(plain, sort_keys=True)


def set_path(spec: TeamSpec, path: str, value: Any) -> TeamSpec:
    """``spec`` with the field at ``path`` set to ``value``, validated by the spec itself."""
    if path == "n":
        return resize(spec, value)
    expanded = expand_alias(path, value, spec)
    steps = _steps(expanded)
    data = spec.to_dict(listed=expanded.startswith("agents"))  # a large team's agents listed only to edit them
    _assign(data, steps, _plain(value), path)
    return TeamSpec.from_dict(data)


def resize(spec: TeamSpec, n: Any) -> TeamSpec:
    """A team of ``n`` agents a0..a{n-1}, each a copy of the first (the leader role kept
    on a0 when the first agent leads). A team composed by a ``mix`` keeps its
    proportions: the counts are scaled to ``n`` (:func:`scale_mix`)."""
    n = check_team_size("n", n)
    template = spec.agents[0]
    leads = template.role == "leader"
    if spec.mix is None and not leads:  # one template: a roster (``spec.roster``), not n agents
        return spec.replace(agents=Roster(template.replace(id="a0", role="member"), n))
    agents = tuple(template.replace(id=f"a{i}", role="leader" if leads and i == 0 else "member") for i in range(n))
    if spec.mix is None:
        return spec.replace(agents=agents)
    return spec.replace(agents=agents, mix=scale_mix(spec.mix, n))  # each agent's profile from the scaled mix


def scale_mix(mix: Any, n: int) -> dict[str, int]:
    """The mix's counts scaled to a team of ``n``, every profile kept at least once:
    largest remainders (exact integer arithmetic; ties to the profile listed first), so
    ``{"strong-slow": 1, "cheap-fast": 4}`` at n = 10 is 2 and 8, at n = 7 is 1 and 6."""
    pairs = list(mix.items()) if isinstance(mix, dict) else [tuple(p) for p in mix]
    if n < len(pairs):
        raise SpecError("n", f"must be at least the mix's {len(pairs)} profiles (each keeps one agent)", n)
    total = sum(count for _, count in pairs)
    counts = [max(1, count * n // total) for _, count in pairs]
    by_remainder = sorted(range(len(pairs)), key=lambda i: (-(pairs[i][1] * n % total), i))
    for i in by_remainder[:max(0, n - sum(counts))]:
        counts[i] += 1
    while sum(counts) > n:  # minimums of 1 overshot: take from the largest (the last listed on ties)
        i = max(range(len(counts)), key=lambda j: (counts[j], j))
        counts[i] -= 1
    return {name: count for (name, _), count in zip(pairs, counts)}


def variant(spec: TeamSpec, **changes: Any) -> TeamSpec:
    """``spec`` with grid-style changes, e.g. ``variant(spec, n=9, competence=0.7,
    **{"topology.kind": "ring"})`` (shorthands as in :func:`set_path`)."""
    for key, value in changes.items():
        spec = set_path(spec, key, value)
    return spec


def expand_alias(path: str, value: Any, spec: TeamSpec) -> str:
    """The full path of a shorthand key: ``topology``/``protocol`` with a kind name,
    ``max_rounds`` and a bare agent field (``competence``: every agent's)."""
    if path in ("topology", "protocol") and isinstance(value, str):
        return f"{path}.kind"
    if path == "max_rounds":
        return "budgets.max_rounds"
    if path in _AGENT_FIELDS and path not in TeamSpec.__dataclass_fields__:
        return f"agents[*].{path}"
    return path


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None or (pos == 0 and path.startswith(".")):
            raise SpecError(path, "is not a spec path (fields joined by '.', list items as [i] or [*], e.g. "
                            "'agents[*].competence')", show_got=False)
        steps.append(m.group(1) if m.group(1) is not None else ("*" if m.group(2) == "*" else int(m.group(2))))
        pos = m.end()
    if isinstance(steps[0], int) or steps[0] == "*":
        raise SpecError(path, "must start with a field name", show_got=False)
    return steps


def _assign(node: Any, steps: Sequence[str | int], value: Any, path: str, where: str = "") -> None:
    head, rest = steps[0], steps[1:]
    if isinstance(head, str) and head != "*":
        if not isinstance(node, dict):
            raise SpecError(where, f"is not a table, so {path!r} cannot be set inside it", show_got=False)
        here = f"{where}.{head}" if where else head
        if not rest:
            node[head] = value
            return
        if node.get(head) is None:
            node[head] = {} if isinstance(rest[0], str) and rest[0] != "*" else []
        _assign(node[head], rest, value, path, here)
        return
    if not isinstance(node, list):
        raise SpecError(where, f"is not a list, so {path!r} cannot index it", show_got=False)
    indices = range(len(node)) if head == "*" else [head]
    for i in indices:
        if not 0 <= i < len(node):
            raise SpecError(f"{where}[{i}]", f"is out of range: {where!r} has {len(node)} item(s)", show_got=False)
        if rest:
            _assign(node[i], rest, value, path, f"{where}[{i}]")
        else:
            node[i] = value


def _plain(value: Any) -> Any:
    """Spec values (a FaultSpec, a list of them ...) as the plain data ``from_dict`` reads."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value
