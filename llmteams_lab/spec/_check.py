"""Field validators shared by every spec class.

Each helper raises :class:`SpecError` with the message form the whole project uses:
``'<path>' must be <expectation> (got <value>)``. Keeping them in one place keeps the
wording identical everywhere, which the tests assert exactly.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from llmteams_lab.errors import SpecError

# Upper bounds: every integer of a spec has one, so a spec that validates can be run and
# written out (numpy's int64 columns overflow past 2**63, and ``str()`` refuses integers
# of more than 4,300 digits, which would make a spec unserialisable).
MAX_INT = 2**63 - 1        # seeds, indices, token budgets
MAX_TOKENS = 10**7         # tokens of one call (prompt, per message, reply, completion cap)
MAX_ROUNDS = 10**6         # rounds of a run, and every round a fault names
MAX_RETRIES = 100          # retries of one call
MAX_SECONDS = 10**7        # any duration in seconds (~116 days)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite int or float that fits a float (``10**400`` would overflow later)."""
    if not (is_int(value) or isinstance(value, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def one_of(path: str, value: Any, choices: Iterable[str]) -> str:
    options = sorted(choices)
    if not isinstance(value, str) or value not in options:
        raise SpecError(path, f"must be one of {options}", value)
    return value


def number_in(path: str, value: Any, low: float, high: float) -> float:
    if not is_number(value) or not low <= value <= high:
        raise SpecError(path, f"must be in [{_fmt(low)}, {_fmt(high)}]", value)
    return float(value)


def non_negative(path: str, value: Any, high: float | None = None) -> float:
    if not is_number(value) or value < 0:
        raise SpecError(path, "must be a number >= 0", value)
    if high is not None and value > high:
        raise SpecError(path, f"must be in [0, {_fmt(high)}]", value)
    return float(value)


def positive(path: str, value: Any, high: float | None = None) -> float:
    if not is_number(value) or value <= 0:
        raise SpecError(path, "must be a number > 0", value)
    if high is not None and value > high:
        raise SpecError(path, f"must be in (0, {_fmt(high)}]", value)
    return float(value)


def int_at_least(path: str, value: Any, low: int, high: int = MAX_INT) -> int:
    """An integer in [low, high]; every integer field has an upper bound (``MAX_INT`` at
    least), so the message for a value below says ``>= low`` and above says the range."""
    if not is_int(value) or value < low:
        raise SpecError(path, f"must be an integer >= {low}", value)
    if value > high:
        raise SpecError(path, f"must be an integer in [{low}, {high}]", value)
    return value


def optional(check, path: str, value: Any, *args: Any) -> Any:
    return None if value is None else check(path, value, *args)


def text(path: str, value: Any, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        expected = "must be a string" if allow_empty else "must be a non-empty string"
        raise SpecError(path, expected, value)
    return value


def boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, "must be true or false", value)
    return value


def team_text(ids: Sequence[str]) -> str:
    """The team's agent ids for an error message, short whatever the team's size: the
    list up to 20 agents, else ``a0 .. a999 (1,000 agents)`` for generated ids, or the
    first few and the count."""
    if len(ids) <= 20:
        return str(list(ids))
    if ids[0] == "a0" and ids[-1] == f"a{len(ids) - 1}" and all(x == f"a{i}" for i, x in enumerate(ids)):
        return f"a0 .. a{len(ids) - 1} ({len(ids):,} agents)"
    return f"[{', '.join(repr(x) for x in ids[:4])}, ...] ({len(ids):,} agents)"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
