"""The collector around a round: untouched by default; with ``pause_gc=True`` paused while it runs, resumed after, and a round's
new log records moved to the oldest generation only when they are nearly all of the
young one (see ``llmteams_lab.runtime.collector``)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from llmteams_lab import Run, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.runtime.collector import resume_gc
from tests.support import no_stop


def _in_generation(obj: object, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation))


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


def test_a_round_of_many_records_goes_straight_to_the_oldest_generation() -> None:
    gc.collect()
    run = _stepped(40, "complete")  # 1,560 messages: 3,120 message events per round
    last = run.events[-2]  # the last round's RoundEnded (RunEnded was added by aclose)
    assert last.kind == "RoundEnded" and gc.isenabled()
    assert _in_generation(last, 2) and not _in_generation(last, 0)
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("young, records, moved", [
    (2_000, 2_000, True),  # nearly all young objects are the round's records
    (2_000, 500, False),  # too few records: the young collection is cheap
    (3_000, 1_500, False),  # half the young objects are something else: leave them young
])
def test_the_young_generation_moves_only_when_it_is_nearly_all_new_records(young: int, records: int,
                                                                         moved: bool) -> None:
    gc.collect()
    gc.disable()
    try:
        objects = [[] for _ in range(young)]  # tracked by the collector, like event records
        resume_gc(records)
        assert gc.isenabled()
        assert _in_generation(objects[0], 2) is moved
    finally:
        gc.enable()


def test_objects_the_application_froze_stay_frozen() -> None:
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        run = _stepped(40, "complete")
        assert gc.get_freeze_count() == frozen  # nothing thawed
        assert not _in_generation(run.events[-2], 2)  # the records took the ordinary path
    finally:
        gc.unfreeze()


def test_a_collector_the_application_disabled_stays_disabled() -> None:
    gc.disable()
    try:
        _stepped(40, "complete")
        assert not gc.isenabled()
    finally:
        gc.enable()
