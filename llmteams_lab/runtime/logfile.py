"""Event logs on disk after a crash: reading them tolerantly, finding what finished.

A :class:`~llmteams_lab.runtime.sinks.JsonlSink` appends each round's events and
flushes, so a killed process leaves a log that is an exact prefix of the run — except
that the kill may land in the middle of a write, leaving a partial last line, and that
the last round may be half written (no ``RoundEnded``). Both are expected, not errors:

* :func:`read_jsonl_rows` drops a partial last line with an
  :class:`UnfinishedLogWarning` (a bad line *before* the last is real damage: a
  :class:`~llmteams_lab.errors.DatasetError` naming the line);
* :func:`finished_prefix` cuts a run's events after its last ``RoundEnded`` — the part
  a resumed run keeps — and :func:`interrupted_tail` tells a round that was cut off
  (no ``RoundEnded`` and no ``RunEnded``) from one in which the run failed (its
  ``RunEnded`` says why), so a replay never shows a half-written round as finished.

Stdlib only: the runtime resumes runs from here, and ``datasets`` reads logs with it.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from llmteams_lab.errors import DatasetError
from llmteams_lab.events import Event, event_from_dict

__all__ = ["InexactResumeWarning", "LogFile", "UnfinishedLogWarning", "finished_prefix", "interrupted_tail",
           "read_jsonl_rows", "read_log", "rewrite_lines"]


class UnfinishedLogWarning(UserWarning):
    """A log ends in a partial line or a half-written round (a process killed mid-write)."""


class InexactResumeWarning(UserWarning):
    """A resumed run could not re-execute its recorded rounds event for event (see
    ``runtime.resume``); the log keeps the recorded events."""


@dataclass(frozen=True)
class LogFile:
    """A JSONL log read back: its events, the raw text of each line, and whether a
    partial last line was dropped."""

    path: Path
    events: list[Event]
    lines: list[str]
    dropped_partial: bool


def read_jsonl_rows(path: str | os.PathLike) -> tuple[list[dict[str, Any]], list[str], bool]:
    """The JSON objects of a JSONL file, their raw lines (newline included), and whether
    a partial last line was dropped (with a warning; see the module docstring).

    Only the text after the last newline can be a partial line: a write cut short never
    leaves valid JSON (an object cut anywhere misses its closing brace), so that text
    is kept if it parses and dropped if it does not."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"no events file at {str(path)!r}")
    chunks = path.read_bytes().split(b"\n")  # the last chunk follows the last newline
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for lineno, chunk in enumerate(chunks, 1):
        if not chunk.strip():
            continue
        row, problem = _json_object(chunk)
        if row is None:
            if lineno == len(chunks):
                warnings.warn(UnfinishedLogWarning(
                    f"{path}: dropped a partial last line (the process writing the log was killed mid-write); "
                    "every line before it is kept"), stacklevel=3)
                return rows, lines, True
            raise DatasetError(f"{path}: line {lineno} is not JSON ({problem})")
        rows.append(row)
        lines.append(chunk.decode("utf-8") + "\n")
    return rows, lines, False


def _json_object(chunk: bytes) -> tuple[dict[str, Any] | None, str]:
    """The line's object, or ``None`` and why it is not one."""
    try:
        row = json.loads(chunk)
    except json.JSONDecodeError as err:
        return None, err.msg
    except (ValueError, RecursionError) as err:  # not UTF-8, an integer of 5,000 digits, deep nesting
        return None, str(err)[:80]
    return (row, "") if isinstance(row, dict) else (None, "not an object")


def read_log(path: str | os.PathLike) -> LogFile:
    """A JSONL event log as typed events (tolerant of a partial last line)."""
    rows, lines, dropped = read_jsonl_rows(path)
    try:
        events = [event_from_dict(row) for row in rows]
    except (KeyError, TypeError, ValueError) as err:
        raise DatasetError(f"{path}: not an events log ({str(err)[:120]})") from None
    return LogFile(Path(path), events, lines, dropped)


def finished_prefix(events: Sequence[Event]) -> tuple[int, int]:
    """``(k, m)``: the last round with a ``RoundEnded`` (0 if none) and how many leading
    events belong to rounds up to k — everything after its ``RoundEnded`` is cut off
    (the unfinished round, or the ``RunEnded`` of a run that was stopped)."""
    for m in range(len(events) - 1, -1, -1):
        if events[m].kind == "RoundEnded":
            return int(events[m].round), m + 1
    return 0, 0


def interrupted_tail(events: Sequence[Event]) -> int:
    """How many trailing events form a round that was cut off by a crash: the events
    after the last ``RoundEnded`` when none of them is a ``RunEnded`` and a round had
    started. 0 when the log ends cleanly (or the run recorded why it stopped)."""
    k, m = finished_prefix(events)
    tail = events[m:]
    if any(e.kind == "RunEnded" for e in tail):
        return 0
    if not any(e.kind == "RoundStarted" for e in tail):
        return 0
    return len(tail)


def rewrite_lines(path: str | os.PathLike, lines: Sequence[str]) -> None:
    """Replace ``path`` by ``lines`` atomically (a temporary file, fsync, rename), so a
    crash while truncating a log never leaves it half rewritten."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write("".join(lines))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
