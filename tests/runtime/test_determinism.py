"""Same spec + seed → byte-identical events, in one process and across processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from llmteams_lab import team
from llmteams_lab.events import events_to_jsonl
from tests.support import COORDINATION_GOLDEN, golden_jsonl, no_stop, run_events

ROOT = Path(__file__).resolve().parents[2]
CROSS_PROCESS = ["debate_complete", "debate_rounds_logging", "mock_flaky_tree", *COORDINATION_GOLDEN]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_same_seed_same_events_in_process() -> None:
    spec = no_stop(team(9, topology="small_world", protocol="debate", competence=0.4, seed=12, max_rounds=6))
    first, second = events_to_jsonl(run_events(spec)), events_to_jsonl(run_events(spec))
    assert first == second
    assert events_to_jsonl(run_events(spec.replace(seed=13))) != first


def test_same_seed_same_events_across_processes() -> None:
    code = ("import hashlib, sys; from tests.support import golden_jsonl; "
            "print(' '.join(hashlib.sha256(golden_jsonl(n).encode()).hexdigest() for n in sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}
    digests = []
    for _ in range(2):  # two separate interpreters (and a hash seed unlike ours)
        out = subprocess.run([sys.executable, "-c", code, *CROSS_PROCESS], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120, check=True)
        digests.append(out.stdout.split())
    here = [digest(golden_jsonl(name)) for name in CROSS_PROCESS]
    assert digests[0] == digests[1] == here
