"""Golden seeded runs: the event log of each run in ``support.GOLDEN`` is committed and
diffed byte for byte (regenerate with ``LLMTEAMS_REGEN_GOLDEN=1``; see tests/golden/README.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import GOLDEN, golden_jsonl

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
REGEN = os.environ.get("LLMTEAMS_REGEN_GOLDEN") == "1"


def _first_difference(expected: str, actual: str) -> str:
    exp, act = expected.splitlines(), actual.splitlines()
    for lineno, (a, b) in enumerate(zip(exp, act), 1):
        if a != b:
            return f"line {lineno} differs:\n  golden: {a}\n  now:    {b}"
    return f"logs differ in length: golden {len(exp)} lines, now {len(act)} lines"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_event_log_matches_golden(name: str) -> None:
    path = GOLDEN_DIR / f"{name}.jsonl"
    actual = golden_jsonl(name)
    rows = [json.loads(line) for line in actual.splitlines()]
    assert rows and rows[0]["kind"] == "RunStarted" and rows[-1]["kind"] == "RunEnded"
    if REGEN:
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert path.is_file(), f"missing golden log {path}; create it with LLMTEAMS_REGEN_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name}: {_first_difference(expected, actual)}"


def test_every_golden_file_has_a_spec() -> None:
    """A stale golden file (spec renamed or removed) would silently stop being checked."""
    on_disk = {p.stem for p in GOLDEN_DIR.glob("*.jsonl")}
    assert on_disk == set(GOLDEN)


def test_golden_runs_cover_the_protocols_and_logging_modes() -> None:
    kinds = {spec.protocol.kind for spec, _ in GOLDEN.values()}
    assert kinds == {"debate", "leader", "majority", "quorum", "weighted"}
    assert {spec.logging for spec, _ in GOLDEN.values()} == {"messages", "rounds"}
    assert any(spec.topology.kind == "star" and spec.protocol.kind == "leader" for spec, _ in GOLDEN.values())
