"""Live injection: ``run.inject(fault)`` acts from the next round, validated like the spec,
recorded like a scheduled fault, and re-runnable from the log."""

from __future__ import annotations

import asyncio
import json

import pytest

from llmteams_lab import Run, spec_from_events, team
from llmteams_lab.backends import MockBackend
from llmteams_lab.errors import RunFinishedError, SpecError
from llmteams_lab.events import events_to_jsonl
from llmteams_lab.spec import FaultSpec, TeamSpec
from tests.support import no_stop

BASE = no_stop(team(5, max_rounds=6, competence=0.5, seed=3))


async def live_run(spec: TeamSpec, plan: dict[int, list], backend=None) -> Run:
    """Run ``spec``, injecting ``plan[r]`` after ``r`` rounds have been stepped."""
    run = Run(spec, backends=backend() if backend else None)
    while not run.done:
        for fault in plan.get(run.round, []):
            run.inject(fault)
        await run.step()
    await run.aclose()
    return run


async def rerun(events: list, backend=None) -> list:
    run = Run(spec_from_events(events), backends=backend() if backend else None, run_id=events[0].run_id)
    await run.run()
    await run.aclose()
    return list(run.events)


def same_log(a: list, b: list) -> bool:
    """Equal logs but for RunStarted's detail (the spec, which now lists the faults)."""
    assert a[0].kind == b[0].kind == "RunStarted"
    return events_to_jsonl(a[1:]) == events_to_jsonl(b[1:])


def test_inject_takes_effect_from_the_next_round_and_is_recorded_like_a_scheduled_fault() -> None:
    async def main():
        run = Run(BASE)
        await run.step()
        await run.step()
        effective = run.inject(FaultSpec(kind="crash", agent="a2"))
        before = len(run.events)
        await run.step()
        return run, effective, before

    run, effective, before = asyncio.run(main())
    assert effective == FaultSpec(kind="crash", agent="a2", at_round=3)
    new = run.events[before:]
    assert [e.kind for e in new[:3]] == ["RoundStarted", "FaultApplied", "AgentFailed"]
    applied = new[1]
    assert (applied.round, applied.agent, applied.value, applied.fault) == (3, "a2", "start", "crash")
    assert json.loads(applied.detail) == {"kind": "crash", "agent": "a2", "at_round": 3}
    assert run.state()["a2"]["alive"] is False
    assert run.faults.spec.faults == (effective,)


def test_an_invalid_injection_changes_nothing_and_raises_the_spec_error() -> None:
    async def main():
        run = Run(BASE.replace(faults=[FaultSpec(kind="drop", probability=0.1)]))
        await run.step()
        snapshot = (list(run.events), run.faults.spec, len(run.faults.faults))
        errors = []
        for bad in (FaultSpec(kind="crash", agent="a9"), {"kind": "drop", "probability": 2},
                    FaultSpec(kind="drop", start_round=1), FaultSpec(kind="byzantine", lie="Z"),
                    FaultSpec(kind="timeout", at_round=9)):
            with pytest.raises(SpecError) as info:
                run.inject(bad)
            errors.append(str(info.value))
            assert (list(run.events), run.faults.spec, len(run.faults.faults)) == snapshot
        await run.aclose()
        return errors

    assert asyncio.run(main()) == [
        "'faults[1].agent' must be an agent of the team ['a0', 'a1', 'a2', 'a3', 'a4'] (got 'a9')",
        "'faults[1].probability' must be in [0, 1] (got 2)",
        "'faults[1].start_round' must be >= the next round 2 for a live injection (got 1)",
        "'faults[1].lie' must be one of the answers ['A', 'B', 'C', 'D'] (got 'Z')",
        "'faults[1].at_round' must be <= budgets.max_rounds 6 (got 9)",
    ]
    # the same fault scheduled in the spec fails with the same message
    with pytest.raises(SpecError) as info:
        BASE.replace(faults=[FaultSpec(kind="drop", probability=0.1), FaultSpec(kind="crash", agent="a9")])
    assert str(info.value) == "'faults[1].agent' must be an agent of the team ['a0', 'a1', 'a2', 'a3', 'a4'] (got 'a9')"


def test_message_faults_cannot_be_injected_into_an_aggregated_run() -> None:
    async def main():
        async with Run(no_stop(team(4, logging="rounds", max_rounds=3))) as run:
            await run.step()
            with pytest.raises(SpecError) as info:
                run.inject(FaultSpec(kind="drop", probability=0.5))
            assert run.inject(FaultSpec(kind="byzantine", agent="a1")).start_round == 2
            await run.run()
            return str(info.value)

    assert asyncio.run(main()) == ("'faults[0].kind' acts on single messages; inject it into a run with "
                                   "logging = 'messages' (or schedule it in the spec) (got 'drop')")


def test_a_finished_run_refuses_injections() -> None:
    async def main():
        async with Run(team(3, protocol="majority")) as run:
            await run.run()
            with pytest.raises(RunFinishedError):
                run.inject(FaultSpec(kind="crash", agent="a1"))

    asyncio.run(main())


def test_live_run_equals_its_scheduled_rerun() -> None:
    plan = {1: [FaultSpec(kind="crash", agent="a2"), {"kind": "duplicate", "probability": 0.5, "agent": "a1"}],
            3: [FaultSpec(kind="partition", groups=(("a0", "a1"),), heal_round=6),
                FaultSpec(kind="drop", probability=0.2), FaultSpec(kind="byzantine", agent="a4", end_round=5)]}
    spec = BASE.replace(faults=[FaultSpec(kind="drop", probability=0.2)])

    async def main():
        run = await live_run(spec, plan)
        return list(run.events), await rerun(list(run.events))

    live, scheduled = asyncio.run(main())
    assert same_log(live, scheduled)
    folded = spec_from_events(live).faults
    assert folded[0] == spec.faults[0] and len(folded) == 6
    assert FaultSpec(kind="crash", agent="a2", at_round=2) in folded
    assert FaultSpec(kind="byzantine", agent="a4", start_round=4, end_round=5) in folded


def test_live_backend_faults_with_retries_rerun_identically() -> None:
    spec = no_stop(team(4, backend="mock", max_rounds=5)).replace(
        failure_policy={"on_error": "retry", "retries": 2, "backoff_s": 0.5})
    plan = {2: [FaultSpec(kind="rate_limit", agent="a1", probability=0.6),
                FaultSpec(kind="straggler", group=("a0", "a3"), factor=3.0, end_round=4)]}

    async def main():
        run = await live_run(spec, plan, MockBackend)
        return list(run.events), await rerun(list(run.events), MockBackend)

    live, scheduled = asyncio.run(main())
    assert same_log(live, scheduled)
    assert any(e.kind == "AgentRetried" for e in live)


def test_spec_from_events_reads_frames_and_needs_the_run_start() -> None:
    async def main():
        run = await live_run(BASE, {2: [FaultSpec(kind="stubborn", agent="a0")]})
        return run.result()

    result = asyncio.run(main())
    assert spec_from_events(result.events).faults == (FaultSpec(kind="stubborn", agent="a0", start_round=3),)
    assert spec_from_events(result.records[:5]) == BASE  # before the injection took effect
    with pytest.raises(ValueError, match="RunStarted"):
        spec_from_events(result.records[1:])
