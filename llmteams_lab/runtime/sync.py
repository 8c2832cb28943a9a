"""A synchronous bridge for scripts and pasted snippets: ``run_sync(spec)``.

Outside an event loop it runs the whole run with ``asyncio.run``. Inside a running loop
(a Jupyter kernel) it runs the run on a fresh event loop in a worker thread and waits
for it: the call blocks the kernel until the run ends — clicks on widgets wait too — so
it is a convenience for pasted scripts, never what the lab's Play uses (the lab steps
on the kernel's own loop). ``await Run(spec).run()`` is the non-blocking way there.

Why a thread and not nest-asyncio: ``nest_asyncio.apply()`` patches the asyncio module
and the kernel's loop for the rest of the process, and a library must not change the
interpreter for everyone else; a thread with its own loop gives the same blocking
convenience and leaves the kernel's loop as it was.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Sequence

from llmteams_lab.runtime.engine import Run
from llmteams_lab.runtime.result import RunResult
from llmteams_lab.runtime.sinks import Sink
from llmteams_lab.spec import TeamSpec

__all__ = ["run_sync"]


def run_sync(spec: TeamSpec, *, backends: Any = None, sinks: Sequence[Sink] = (),
             max_rounds: int | None = None) -> RunResult:
    """Run ``spec`` to the end (or ``max_rounds`` rounds) from synchronous code (also
    inside a running event loop, blocking it: see the module docstring)."""

    async def main() -> RunResult:
        async with Run(spec, backends=backends, sinks=sinks) as run:
            return await run.run(max_rounds)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    return _in_thread(main)


def _in_thread(main: Any) -> RunResult:
    """``asyncio.run(main())`` on a worker thread; its result, or its exception re-raised."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(main())
        except BaseException as err:  # handed back to the caller's thread
            box["error"] = err

    worker = threading.Thread(target=target, name="llmteams-run_sync", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
