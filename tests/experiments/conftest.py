"""A real local Ray instance, started once per test session (per xdist worker) and only
when a test asks for it: starting Ray costs seconds and ~800 MB (DESIGN §7)."""

from __future__ import annotations

import os
from typing import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_local() -> Iterator[object]:
    ray = pytest.importorskip("ray", reason="Ray is in the [ray] and [dev] extras")
    for name, value in (("RAY_USAGE_STATS_ENABLED", "0"), ("RAY_AUTH_MODE", "disabled")):
        os.environ.setdefault(name, value)
    from llmteams_lab.experiments.executors import make_executor

    make_executor("ray", 2)  # ray.init() through the executor, as a user's first sweep does
    try:
        yield ray
    finally:
        ray.shutdown()
