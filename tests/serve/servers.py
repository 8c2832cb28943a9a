"""Helpers for tests that talk HTTP: ``serve`` (and ``proxy``) on 127.0.0.1, ephemeral ports.

Every server runs on its own event loop in a thread (``serve.Background``) and is
stopped by the test that started it; nothing ever leaves this machine. Latencies are
a few milliseconds and retries back off for a few milliseconds, so the whole set of
HTTP tests stays cheap.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from typing import Any, Iterator

import polars as pl

from llmteams_lab import Run, team
from llmteams_lab.runtime import RunResult
from llmteams_lab.serve import Background, Server
from llmteams_lab.spec import AgentSpec, TeamSpec

FAST = {"latency_s": 0.002, "latency_jitter": 0.0}
QUICK_RETRIES = {"timeout_s": 2.0, "backoff_s": 0.002, "max_backoff_s": 0.01}


def profile(**fields: Any) -> AgentSpec:
    """A simulated model profile answering in ~2 ms (override any AgentSpec field)."""
    return AgentSpec("sim", **{**FAST, **fields})


@contextmanager
def serving(server: Server | None = None, **fields: Any) -> Iterator[tuple[Server, str]]:
    """A started ``serve`` (default: :func:`profile` with ``fields``) and its base URL."""
    server = server or Server(profile(**fields))
    background = Background(server)
    url = background.start()
    try:
        yield server, url
    finally:
        background.stop()


def openai_team(url: str, n: int = 3, *, endpoint: dict | None = None, **kwargs: Any) -> TeamSpec:
    """A team of ``n`` openai-backed agents pointed at ``url`` with quick retries."""
    return team(n, backend="openai", endpoint={"base_url": url, **QUICK_RETRIES, **(endpoint or {})}, **kwargs)


def run_team(spec: TeamSpec, backends: Any = None, sinks=()) -> RunResult:
    async def main() -> RunResult:
        async with Run(spec, backends=backends, sinks=sinks) as run:
            return await run.run()

    return asyncio.run(main())


def rows(result: RunResult, *kinds: str) -> pl.DataFrame:
    """The result's events of these kinds, in log order."""
    events = result.events
    return events.filter(pl.col("kind").is_in(kinds)) if kinds else events
