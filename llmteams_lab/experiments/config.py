"""A sweep as a file: ``SWEEP.toml`` for ``llmteams-lab sweep``.

.. code-block:: toml

    seeds = 100                 # range(100); or a list [0, 1, 2]
    baselines = true            # self-consistency and single-member arms
    executor = "local"          # or "ray" (ray_address = "HEAD:6379" joins a cluster)
    workers = 2

    [base]                      # the team, as in team.toml (or: base = "team.toml")
    size = 7
    agent = { competence = 0.55 }
    budgets = { max_rounds = 10 }

    [grid]
    n = [3, 5, 9]
    "topology.kind" = ["star", "complete"]

    [grid.faults]               # named fault scenarios
    none = []
    "liar@a0" = [{ kind = "byzantine", agent = "a0" }]
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from llmteams_lab.errors import SpecError
from llmteams_lab.spec import TeamSpec

__all__ = ["SweepConfig", "load_sweep"]

_OPTIONS = ("baselines", "batch_size", "executor", "max_cost_usd", "ray_address", "workers")


class SweepConfig(dict):
    """The keyword arguments of ``sweep`` read from a file (``base`` and ``grid`` included)."""


def load_sweep(path: str | Path) -> SweepConfig:
    """Read ``path`` (see the module docstring); errors name the key, as spec errors do."""
    path = Path(path)
    if not path.is_file():
        raise SpecError("sweep", "must be an existing TOML file", str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise SpecError("<toml>", f"must be valid TOML: {err}", show_got=False) from None
    known = {"base", "grid", "seeds", *_OPTIONS}
    for key in data:
        if key not in known:
            raise SpecError(key, f"is not a sweep setting; expected one of {sorted(known)}", show_got=False)
    config = SweepConfig(base=_base(data.get("base"), path.parent), grid=_grid(data.get("grid", {})),
                         seeds=_seeds(data.get("seeds", 10)))
    config.update({k: data[k] for k in _OPTIONS if k in data})
    return config


def _base(value: Any, here: Path) -> TeamSpec:
    if value is None:
        raise SpecError("base", "is required: a [base] table (a team spec) or a path to team.toml", show_got=False)
    if isinstance(value, str):
        spec_path = (here / value) if not Path(value).is_absolute() else Path(value)
        if not spec_path.is_file():
            raise SpecError("base", "must be an existing team spec file", value)
        text = spec_path.read_text(encoding="utf-8")
        return TeamSpec.from_json(text) if spec_path.suffix == ".json" else TeamSpec.from_toml(text)
    if not isinstance(value, dict):
        raise SpecError("base", "must be a table (a team spec) or a path to team.toml", value)
    try:
        return TeamSpec.from_dict(value)
    except SpecError as err:
        raise SpecError(f"base.{err.path}", err.expected, err.got, show_got=str(err).endswith(")")) from None


def _grid(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError("grid", "must be a table of spec paths to lists of values", value)
    return value


def _seeds(value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return list(range(value))
    if isinstance(value, list) and value:
        return value
    raise SpecError("seeds", "must be a count (seeds = 100) or a non-empty list of seeds", value)
