"""TOML for spec dicts: a small writer (stdlib ``tomllib`` only reads TOML) and a guarded reader.

Specs are shallow: top-level scalars, tables, arrays of tables, and arrays of scalars
or of scalar pairs. That is all this writer supports, and it refuses anything else
rather than writing something ``tomllib`` would read back differently. The reader
(:func:`loads`) refuses input that would make ``tomllib`` recurse or exhaust memory.
"""

from __future__ import annotations

import json
import math
import tomllib
from typing import Any

from llmteams_lab.errors import SpecError


def dumps(data: dict[str, Any]) -> str:
    lines: list[str] = []
    tables: list[tuple[str, dict]] = []
    arrays: list[tuple[str, list]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, table in tables:
        lines += ["", f"[{_key(key)}]"] + [f"{_key(k)} = {_value(v)}" for k, v in table.items()]
    for key, items in arrays:
        for item in items:
            lines += ["", f"[[{_key(key)}]]"] + [f"{_key(k)} = {_value(v)}" for k, v in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def _key(key: str) -> str:
    if key and all(ch.isalnum() or ch in "_-" for ch in key):
        return key
    return json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError("toml", "values must be finite numbers", value)
        return repr(value)
    if isinstance(value, str):  # JSON escapes every control char TOML forbids except DEL
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise SpecError("toml", "values must be booleans, numbers, strings, lists or tables", type(value).__name__)


# --- reading ------------------------------------------------------------------------
MAX_KEY_PARTS = 64  # dotted-key parts a spec ever needs is a handful; tomllib is quadratic in them


def loads(text: str, max_depth: int) -> dict[str, Any]:
    """``tomllib.loads`` behind a scan that refuses what would make it recurse or run
    out of memory: brackets nested deeper than ``max_depth`` (``RecursionError``) and
    dotted keys of thousands of parts (``tomllib`` copies the key prefix per part, so
    100,000 parts exhaust memory). Any refusal or syntax error is a :class:`SpecError`."""
    problem = _scan(text, max_depth)
    if problem:
        raise SpecError("<toml>", f"must be a spec file: {problem}", show_got=False)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError("<toml>", f"must be valid TOML: {err}", show_got=False) from None
    except (ValueError, RecursionError) as err:  # e.g. an integer of more than 4,300 digits
        raise SpecError("<toml>", f"must be valid TOML: {str(err)[:120]}", show_got=False) from None


def _scan(text: str, max_depth: int) -> str:
    """What makes ``text`` unsafe to hand to ``tomllib`` ('' when nothing does).

    A small state machine over the characters outside strings and comments: it tracks
    the nesting of ``[``/``{`` and counts the dots of each key (at the start of a line,
    and after ``{`` or ``,`` inside an inline table) until its ``=`` or ``]``."""
    stack: list[str] = []
    dots, in_key, i, n = 0, True, 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            i = _skip_string(text, i)
            continue
        if ch == "#":
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if ch == "\n" and not stack:
            dots, in_key = 0, True
        elif ch in "[{":
            stack.append(ch)
            if len(stack) > max_depth + 2:
                return f"brackets nest more than {max_depth} deep"
            in_key, dots = ch == "{" or (ch == "[" and in_key), 0
        elif ch in "]}":
            if stack:
                stack.pop()
            in_key = False
        elif ch == "," and stack and stack[-1] == "{":
            in_key, dots = True, 0
        elif ch == "=" and in_key:
            in_key = False
        elif ch == "." and in_key:
            dots += 1
            if dots > MAX_KEY_PARTS:
                return f"a dotted key has more than {MAX_KEY_PARTS} parts"
        i += 1
    return ""


def _skip_string(text: str, i: int) -> int:
    """The index just past the string literal starting at ``text[i]`` (any TOML form)."""
    quote = text[i]
    triple = text.startswith(quote * 3, i)
    end, i = (quote * 3, i + 3) if triple else (quote, i + 1)
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text.startswith(end, i):
            return i + len(end)
        if not triple and text[i] == "\n":
            return i  # unterminated: tomllib reports it
        i += 1
    return i
