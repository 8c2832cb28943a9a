"""The collector around a round: untouched by default; with ``pause_gc=True`` paused
while it runs and resumed after, safely when pauses overlap (``runtime.collector``)."""

from __future__ import annotations

import asyncio
import gc

from llmteams_lab import Run, team
from llmteams_lab.backends import MockBackend
from tests.support import no_stop


def _stepped(n: int, topology: str, rounds: int = 2, *, pause_gc: bool = True, backend=None) -> Run:
    spec = no_stop(team(n, topology=topology, backend="mock", max_rounds=10))

    async def main() -> Run:
        run = Run(spec, backends=backend or MockBackend(keep_calls=False), pause_gc=pause_gc)
        for _ in range(rounds):
            await run.step()
        await run.aclose()
        return run

    return asyncio.run(main())


def test_by_default_a_run_never_touches_the_collector() -> None:
    """A library does not own the interpreter's collector: during an awaited round other
    tasks must still get cyclic collection, and nothing is frozen or moved."""
    seen: list[bool] = []

    def script(request):
        seen.append(gc.isenabled())
        return None

    gc.collect()
    _stepped(12, "complete", pause_gc=False, backend=MockBackend(script, keep_calls=False))
    assert seen and all(seen) and gc.isenabled() and gc.get_freeze_count() == 0


def test_paused_rounds_pause_the_collector_only_while_they_run() -> None:
    seen: list[bool] = []

    def script(request):
        seen.append(gc.isenabled())
        return None

    _stepped(6, "complete", pause_gc=True, backend=MockBackend(script, keep_calls=False))
    assert seen and not any(seen) and gc.isenabled()


def test_two_overlapping_paused_runs_leave_the_collector_on_only_after_both() -> None:
    from llmteams_lab.runtime.collector import paused_collector

    with paused_collector():
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first pause to end must not turn it back on under the second
    assert gc.isenabled()


def test_a_collector_the_application_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        _stepped(40, "complete")
        assert not gc.isenabled()
    finally:
        gc.enable()
