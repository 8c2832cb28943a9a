"""Ray: the same table as the other executors, on a real local instance; clear errors."""

from __future__ import annotations

import socket

import pytest

from llmteams_lab import FaultSpec, team
from llmteams_lab.errors import ArgumentError, ExecutorError
from llmteams_lab.experiments import sweep
from llmteams_lab.experiments.ray_executor import probe_address

GRID = {"n": [4, 7], "faults": {"none": [], "liar": [FaultSpec(kind="byzantine", agent="a1")]}}


def test_in_process_pool_and_ray_give_identical_tables(ray_local, tmp_path):
    base = team(5, competence=0.55, max_rounds=5)
    local = sweep(base, GRID, seeds=range(5), baselines=True)
    pooled = sweep(base, GRID, seeds=range(5), baselines=True, workers=2, batch_size=3)
    on_ray = sweep(base, GRID, seeds=range(5), baselines=True, executor="ray", workers=2, batch_size=2,
                   out=tmp_path)
    assert local.equals(pooled) and local.equals(on_ray)
    assert on_ray.height == 4 * 5 * 3  # team, self-consistency, one member profile


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on exit: nothing listens there


def test_an_unreachable_ray_address_fails_fast_with_a_clear_error():
    port = _closed_port()
    with pytest.raises(ExecutorError, match=rf"no Ray cluster answers at '127.0.0.1:{port}'"):
        sweep(team(3), seeds=[0], executor="ray", ray_address=f"127.0.0.1:{port}")
    with pytest.raises(ExecutorError, match="no Ray cluster answers at 'ray://127.0.0.1"):
        probe_address(f"ray://127.0.0.1:{port}")
    with pytest.raises(ArgumentError, match="'ray_address' must be 'HOST:PORT'"):
        probe_address("nowhere")
