"""Event logs do not depend on the last bits of a float (``events`` module docstring).

numpy's ``exp`` may round differently on another CPU (its SIMD code path), which once
made two golden logs fail on AMD machines. Two independent proofs that this cannot
reach an event any more:

* every simulated latency draw and every link delay draw is moved by one ulp, up and then
  down, through the one function that draws each — the golden logs must not change by a
  byte;
* the golden runs are recomputed in subprocesses whose numpy has its SIMD dispatch
  restricted (``NPY_DISABLE_CPU_FEATURES``), once down to AVX2 and once down to the
  build's baseline — the logs must again equal the committed ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import llmteams_lab.runtime.links as links
import llmteams_lab.workloads.deliberation.agents as simulated
from tests.support import GOLDEN, golden_jsonl

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = ROOT / "tests" / "golden"


def _committed(name: str) -> str:
    return (GOLDEN_DIR / f"{name}.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("direction", [np.inf, -np.inf], ids=["plus_one_ulp", "minus_one_ulp"])
def test_latency_draws_moved_by_one_ulp_leave_every_golden_log_unchanged(monkeypatch, direction) -> None:
    draw = simulated.draw_latency
    moved: list[int] = []

    def perturbed(base, jitter, normal):
        exact = draw(base, jitter, normal)
        out = np.nextafter(exact, direction)
        moved.append(int(np.count_nonzero(out != exact)))
        return out

    delay = links.draw_delay
    delays_moved: list[int] = []

    def perturbed_delay(base, jitter, normal):
        exact = delay(base, jitter, normal)
        out = np.nextafter(exact, direction)
        delays_moved.append(int(np.count_nonzero(out != exact)))
        return out

    monkeypatch.setattr(simulated, "draw_latency", perturbed)
    monkeypatch.setattr(links, "draw_delay", perturbed_delay)
    for name in sorted(GOLDEN):
        before = len(moved)
        assert golden_jsonl(name) == _committed(name), f"{name}: a one-ulp change in a latency reached the log"
        if GOLDEN[name][1] is None:  # simulated agents: the hook really ran and changed draws
            assert len(moved) > before and sum(moved[before:]) > 0, name
    assert sum(moved) > 100 and sum(delays_moved) > 100  # the asynchronous goldens' link delays too


def _dispatch_features() -> tuple[list[str], list[str]]:
    """numpy's dispatched CPU features that this CPU has, in numpy's order, and its baseline."""
    from numpy._core import _multiarray_umath as umath

    found = [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f)]
    return found, list(umath.__cpu_baseline__)


_CHILD = """
import json, sys
from numpy._core import _multiarray_umath as umath
from tests.support import GOLDEN, golden_jsonl
off = [f for f in sys.argv[1].split() if umath.__cpu_features__.get(f)]
print(json.dumps({"still_on": off, "logs": {name: golden_jsonl(name) for name in sorted(GOLDEN)}}))
"""


@pytest.mark.parametrize("level", ["above_avx2", "baseline_only"])
def test_golden_logs_are_identical_with_numpy_simd_dispatch_restricted(level: str) -> None:
    found, _baseline = _dispatch_features()
    if level == "above_avx2":
        keep = {"X86_V3", "AVX2", "FMA3", "AVX", "F16C"}
        disable = [f for f in found if f not in keep]
    else:
        disable = found
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(disable), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _CHILD, " ".join(disable)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["still_on"] == [], f"numpy kept {out['still_on']} enabled: the restriction did not apply"
    for name, log in out["logs"].items():
        assert log == _committed(name), f"{name}: the log changed with SIMD features {disable} disabled"
