"""Generic dict conversion for the frozen spec dataclasses.

Why generic: every spec class (and the fault variants added later) converts to and
from plain dicts the same way, so adding a field never means touching a serializer.
A class lists its nested spec fields in ``_NESTED`` (field -> class) and its tuple
fields in ``_TUPLES``; ``None`` values are left out of dicts because TOML has no null
(every optional field defaults to ``None``, so leaving it out round-trips).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from llmteams_lab.errors import SpecError, short_repr

# deepest nesting of lists/tables a spec input may have (see :func:`check_depth`)
MAX_DEPTH = 16


def to_dict(spec: Any) -> dict[str, Any]:
    """Plain, JSON/TOML-ready dict of a spec (tuples become lists, ``None`` is omitted)."""
    out: dict[str, Any] = {}
    for name in _names(type(spec)):
        value = getattr(spec, name)
        if value is None:
            continue
        out[name] = _plain(value)
    return out


def _names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, read once per class (every run's spec is turned into
    JSON twice — its id and its ``RunStarted`` event — so this is on a sweep's hot path)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_SCALARS = (str, int, float, bool)


def _plain(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return to_dict(value)
    return value


def from_dict(cls: type, data: Any, path: str = "", *, checked: bool = False) -> Any:
    """Build ``cls`` from a mapping, prefixing any :class:`SpecError` path with ``path``.

    A top-level call (no ``path``) first checks the input's nesting depth, so a hostile
    input nested thousands deep is a :class:`SpecError`, never a ``RecursionError``
    (``checked``: the caller has already checked it)."""
    where = path or cls.__name__
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise SpecError(where, "must be a table/mapping", data)
    if not path and not checked:
        check_depth(data, where)
    _check_names(cls, data, path)
    kwargs = {key: _field_value(cls, key, value, _join(path, key)) for key, value in data.items()}
    return construct(cls, kwargs, path)


def _check_names(cls: type, data: Mapping[Any, Any], path: str, *, complete: bool = True) -> None:
    """Unknown and missing fields as :class:`SpecError` (``cls(**kw)`` would raise TypeError)."""
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    for key in data:
        if key not in names:
            raise SpecError(_join(path, key), f"is not a known field; expected one of {sorted(names)}",
                            show_got=False)
    for f in fields if complete else ():
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if required and f.name not in data:
            raise SpecError(_join(path, f.name), "is required", show_got=False)


def replace(spec: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` that reports unknown field names as :class:`SpecError`."""
    _check_names(type(spec), changes, "", complete=False)
    return dataclasses.replace(spec, **changes)


def construct(cls: type, kwargs: dict[str, Any], path: str) -> Any:
    """Call ``cls(**kwargs)``, re-raising field errors with the parent's path in front."""
    _check_names(cls, kwargs, path)
    try:
        return cls(**kwargs)
    except SpecError as err:
        if not path:
            raise
        raise SpecError(_join(path, err.path), err.expected, err.got, show_got=err.show_got) from None


def _field_value(cls: type, key: str, value: Any, path: str) -> Any:
    nested = getattr(cls, "_NESTED", {}).get(key)
    if getattr(value, "_SPEC_SEQUENCE", False):  # specs already built and checked (``spec.roster``)
        return value
    if nested is not None:
        if isinstance(value, (list, tuple)):
            return tuple(_build(nested, v, f"{path}[{i}]") for i, v in enumerate(value))
        if _is_sequence_field(cls, key):
            raise SpecError(path, "must be a list of tables", value)
        return _build(nested, value, path)
    if key in getattr(cls, "_TUPLES", ()):
        return _tuple(value)
    return value


def _is_sequence_field(cls: type, key: str) -> bool:
    """Whether the field is declared ``tuple[...]`` (a list in dicts), e.g. ``agents``."""
    annotation = next(str(f.type) for f in dataclasses.fields(cls) if f.name == key)
    return annotation.startswith(("tuple", "Tuple"))


def _build(nested: Any, value: Any, path: str) -> Any:
    builder = getattr(nested, "from_dict", None)
    if builder is not None and not isinstance(nested, type):
        return builder(value, path)  # a variant dispatcher (e.g. faults)
    return from_dict(nested, value, path)


def _tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuple(v) for v in value)
    return value


def check_depth(data: Any, where: str, limit: int = MAX_DEPTH) -> None:
    """Refuse input nested deeper than ``limit`` lists/tables (walked without recursion).

    Specs are shallow — a team's deepest value is a partition's groups, four levels
    down — so the limit only ever stops hostile or broken input."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise SpecError(where, f"must not nest lists/tables more than {limit} deep", show_got=False)
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1) for v in value)


def _join(prefix: str, key: Any) -> str:
    key = key if isinstance(key, str) else short_repr(key)
    if not prefix:
        return key
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"
