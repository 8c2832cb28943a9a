"""A synchronous bridge for scripts: ``run_sync(spec)``.

It runs the whole run with ``asyncio.run`` and therefore refuses, with a clear error,
to run inside an already running event loop (a Jupyter kernel): there, nesting would
block the kernel, so use ``await Run(spec).run()`` instead.
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

from llmteams_lab.errors import SyncBridgeError
from llmteams_lab.runtime.engine import Run
from llmteams_lab.runtime.result import RunResult
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec

__all__ = ["run_sync"]


def run_sync(spec: TeamSpec, *, backends: Any = None, sinks: Sequence[Sink] = (),
             max_rounds: int | None = None) -> RunResult:
    """Run ``spec`` to the end (or ``max_rounds`` rounds) from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise SyncBridgeError("run_sync() cannot run inside a running event loop (e.g. a notebook); "
                              "use `result = await Run(spec).run()` there instead")

    async def main() -> RunResult:
        async with Run(spec, backends=backends, sinks=sinks) as run:
            return await run.run(max_rounds)

    return asyncio.run(main())
